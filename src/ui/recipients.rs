//! The retract tab's recipient list: a header row that names the columns and where the cursor
//! is (`3/40`), and columns that share the width by content and priority (an address too wide
//! is cut in its local part so the domain stays; the folder, last to be read, takes the rest).
//! READ and WAS IN say whether the user had opened the copy and where it sat before anything
//! was done (`-`: no job has touched it), so a copy the user had trashed reads `Trash`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use super::columns::{self, ColumnSpec, Cut, spec};
use crate::app::{App, Focus, RecipientRow, RetractForm, layout};

/// Include box, address, delivery state, read state, original folder, markers, folder.
const SPECS: [ColumnSpec; 7] = [
    spec("", 3, 3, 10, false, Cut::End),
    spec("RECIPIENT", 16, 0, 9, false, Cut::Address),
    spec("STATE", 5, 0, 8, false, Cut::End),
    spec("READ", 4, 4, 7, false, Cut::End),
    spec("WAS IN", 6, 0, 5, false, Cut::End),
    spec("MARKS", 5, 0, 4, false, Cut::End),
    spec("FOLDER", 6, 0, 6, true, Cut::End),
];

/// The cells of one recipient, in [`SPECS`] order.
fn cells(r: &RecipientRow) -> [String; 7] {
    let mark = match (r.external, r.included) {
        (true, _) => "[-]",
        (false, true) => "[x]",
        (false, false) => "[ ]",
    };
    let mut marks: Vec<&str> = Vec::new();
    if r.on_hold {
        marks.push("HOLD");
    }
    if r.external {
        marks.push("EXTERNAL");
    }
    [
        mark.to_string(),
        r.shown.clone(),
        r.state.clone(),
        r.read.clone(),
        r.was_in.clone(),
        marks.join(" "),
        r.folder.clone(),
    ]
}

/// One row of cells cut to `widths` (a 0 width drops the column), one space apart.
fn row_text(cells: &[String], widths: &[usize]) -> String {
    cells
        .iter()
        .zip(SPECS.iter().zip(widths))
        .filter(|(_, (_, w))| **w > 0)
        .map(|(c, (s, w))| {
            let cut = columns::cut(c, *w, s.cut);
            let pad = w.saturating_sub(columns::text_width(&cut));
            format!("{cut}{}", " ".repeat(pad))
        })
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end()
        .to_string()
}

/// Draw the header in `header` and the recipients on screen in `list`.
pub fn draw(
    frame: &mut Frame<'_>,
    header: Rect,
    list: Rect,
    app: &App,
    form: &RetractForm,
    theme: &Theme,
) {
    let height = usize::from(list.height);
    let first = layout::list_offset(form.top, form.cursor, height, form.recipients.len());
    let shown: Vec<(usize, [String; 7])> = form
        .recipients
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, r)| (i, cells(r)))
        .collect();
    let widest: Vec<usize> = (0..SPECS.len())
        .map(|c| {
            shown
                .iter()
                .map(|(_, cells)| columns::text_width(&cells[c]))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let width = usize::from(list.width);
    let position = if form.recipients.is_empty() {
        "0/0".to_string()
    } else {
        format!("{}/{}", form.cursor + 1, form.recipients.len())
    };
    // The position keeps its place at the right; the columns share what is left of the row.
    let room = width.saturating_sub(columns::text_width(&position) + 1);
    let widths = columns::share(&SPECS, &widest, room, 1);
    let names: Vec<String> = SPECS.iter().map(|s| s.header.to_string()).collect();
    let names = columns::cut(&row_text(&names, &widths), room, Cut::End);
    let gap = width.saturating_sub(columns::text_width(&names) + columns::text_width(&position));
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(names, theme.title),
            Span::raw(" ".repeat(gap)),
            Span::styled(position, theme.muted),
        ])),
        header,
    );
    let lines: Vec<Line> = shown
        .iter()
        .map(|(i, cells)| {
            let r = &form.recipients[*i];
            let style = if *i == form.cursor && app.focus == Focus::Detail {
                theme.selected
            } else if r.external {
                theme.muted
            } else {
                theme.normal
            };
            Line::from(Span::styled(row_text(cells, &widths), style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(address: &str, state: &str, read: &str, was_in: &str, folder: &str) -> RecipientRow {
        RecipientRow {
            address: address.into(),
            shown: address.into(),
            state: state.into(),
            read: read.into(),
            was_in: was_in.into(),
            folder: folder.into(),
            on_hold: false,
            external: false,
            included: true,
        }
    }

    #[test]
    fn read_and_was_in_stay_at_80_columns() {
        let rows = [
            row(
                "hannah.kowalski@demo.test",
                "retracted",
                "yes",
                "Trash",
                "Junk",
            ),
            row("ben.hartley@demo.test", "delivered", "-", "-", "-"),
        ];
        let cells: Vec<[String; 7]> = rows.iter().map(cells).collect();
        let widest: Vec<usize> = (0..SPECS.len())
            .map(|c| {
                cells
                    .iter()
                    .map(|r| columns::text_width(&r[c]))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        // The pane's inner width at 80 columns, less the position (`1/2`) and its space.
        let widths = columns::share(&SPECS, &widest, 78 - 4, 1);
        let names: Vec<String> = SPECS.iter().map(|s| s.header.to_string()).collect();
        let header = row_text(&names, &widths);
        for name in ["RECIPIENT", "STATE", "READ", "WAS IN", "FOLDER"] {
            assert!(header.contains(name), "{name} in {header:?}");
        }
        let first = row_text(&cells[0], &widths);
        assert!(
            first.starts_with("[x] hannah.kowalski@demo.test"),
            "{first}"
        );
        let read = header.find("READ").unwrap();
        let was_in = header.find("WAS IN").unwrap();
        assert_eq!(&first[read..read + 3], "yes", "{header}\n{first}");
        assert_eq!(&first[was_in..was_in + 5], "Trash", "{header}\n{first}");
    }
}
