//! The one table renderer of the CLI: every command's table fits the width it is given, one
//! line a row, never wrapped. Columns share the width by content (a short column keeps all
//! of its cells, the long ones split what is left), a cut cell ends in `…`, an address keeps
//! its domain, and when even the narrowest cells cannot fit, the least needed columns go.

use std::io::IsTerminal;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::model::text::sanitize;

/// Spaces between two columns.
const GAP: usize = 2;

/// How wide a table may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// At most this many terminal columns.
    Columns(usize),
    /// Whole cells, however long: output for a file or another program.
    Unlimited,
}

impl Width {
    /// The width for stdout. A terminal: its own width, read at each command so a resize is
    /// followed (`COLUMNS`, then 80, only when the terminal cannot say). Not a terminal:
    /// `COLUMNS` when set, else unlimited, as `ps` and `kubectl` do: a file or a pipe into
    /// `grep` gets every character of every cell, and `COLUMNS=80 retractor ... | less`
    /// asks for a fitted table on purpose.
    pub fn for_stdout() -> Width {
        let columns = std::env::var("COLUMNS").ok();
        let terminal = std::io::stdout().is_terminal();
        Width::decide(columns.as_deref(), terminal, || {
            crossterm::terminal::size()
                .ok()
                .map(|(cols, _)| cols as usize)
        })
    }

    /// [`Width::for_stdout`]'s rule, with the environment passed in.
    pub fn decide(
        columns_env: Option<&str>,
        stdout_is_terminal: bool,
        terminal_columns: impl FnOnce() -> Option<usize>,
    ) -> Width {
        let from_env = columns_env
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|c| *c > 0);
        if stdout_is_terminal {
            let cols = terminal_columns()
                .filter(|c| *c > 0)
                .or(from_env)
                .unwrap_or(80);
            return Width::Columns(cols);
        }
        from_env.map(Width::Columns).unwrap_or(Width::Unlimited)
    }
}

/// How a column's cells are cut when the table must narrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fit {
    /// Never cut: ids, counts, times, states (short and fixed by the program).
    Whole,
    /// Cut at the end.
    Text,
    /// An address (or anything with `@domain`): the local part is cut first, the domain
    /// (the indicator an analyst reads) last, from its left.
    Address,
    /// Cut in the middle, keeping both ends (Message-IDs: the unique start, the host's end).
    Middle,
}

impl Fit {
    /// The narrowest a cut cell of this kind may become (less only when the content is).
    fn min_width(self) -> usize {
        match self {
            Fit::Whole => 0,
            Fit::Text => 8,
            Fit::Address => 16,
            Fit::Middle => 14,
        }
    }
}

/// One column: its header, how its cells are cut, and how early it gives way.
#[derive(Clone, Debug)]
pub struct Column {
    header: &'static str,
    fit: Fit,
    /// 0: always shown; otherwise, when the narrowest cells do not fit, the column with the
    /// lowest number above 0 is left out first.
    drop_order: u8,
}

impl Column {
    /// A column never cut (ids, counts, times, states).
    pub fn whole(header: &'static str) -> Column {
        Column::with(header, Fit::Whole)
    }

    /// Free text, cut at its end.
    pub fn text(header: &'static str) -> Column {
        Column::with(header, Fit::Text)
    }

    /// Addresses: the domain is kept.
    pub fn address(header: &'static str) -> Column {
        Column::with(header, Fit::Address)
    }

    /// Message-IDs: both ends kept.
    pub fn middle(header: &'static str) -> Column {
        Column::with(header, Fit::Middle)
    }

    /// May be left out when the width is too small for every column: `order` 1 goes first.
    pub fn droppable(mut self, order: u8) -> Column {
        self.drop_order = order;
        self
    }

    fn with(header: &'static str, fit: Fit) -> Column {
        Column {
            header,
            fit,
            drop_order: 0,
        }
    }
}

/// A table: header, rows, every cell sanitised before it is measured or printed.
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| sanitize(c)).collect());
    }

    /// Print on stdout, fitted to [`Width::for_stdout`]; the columns left out are named on
    /// stderr so a reader knows the table is not all there is.
    pub fn print(&self) {
        let rendered = self.render(Width::for_stdout());
        for line in &rendered.lines {
            println!("{line}");
        }
        if !rendered.dropped.is_empty() {
            eprintln!(
                "({} left out to fit the terminal; --json has every field)",
                rendered.dropped.join(", ")
            );
        }
    }

    /// The narrowest column `i` may become: its content when it is never cut; for
    /// addresses, room for the longest domain and a letter of the local part (within
    /// bounds), so the domain is what survives; otherwise the kind's minimum.
    fn minimum(&self, i: usize, column: &Column, natural: usize) -> usize {
        let floor = match column.fit {
            Fit::Whole => return natural,
            Fit::Address => self
                .rows
                .iter()
                .filter_map(|r| r.get(i))
                .filter_map(|cell| cell.rfind('@').map(|at| cell[at..].width() + 2))
                .max()
                .unwrap_or(0)
                .clamp(Fit::Address.min_width(), 30),
            fit => fit.min_width(),
        };
        natural.min(floor.max(column.header.width().min(8)))
    }

    /// The lines of the table at `width`, and the headers of the columns left out.
    pub fn render(&self, width: Width) -> Rendered {
        let naturals: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|cell| cell.width())
                    .chain([c.header.width()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let minimums: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| self.minimum(i, c, naturals[i]))
            .collect();
        let widths = match width {
            Width::Unlimited => naturals.iter().copied().map(Some).collect(),
            Width::Columns(limit) => layout(&self.columns, &naturals, &minimums, limit),
        };
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            let shown: Vec<(usize, usize)> = widths
                .iter()
                .enumerate()
                .filter_map(|(i, w)| w.map(|w| (i, w)))
                .collect();
            for (n, (i, w)) in shown.iter().enumerate() {
                let cell = cut(
                    cells.get(*i).copied().unwrap_or(""),
                    *w,
                    self.columns[*i].fit,
                );
                out.push_str(&cell);
                if n + 1 < shown.len() {
                    out.push_str(&" ".repeat(w - cell.width() + GAP));
                }
            }
            let out = out.trim_end().to_string();
            match width {
                // A lone column wider than the terminal: the line is cut rather than wrapped.
                Width::Columns(limit) if out.width() > limit => cut(&out, limit, Fit::Text),
                _ => out,
            }
        };
        let mut lines = vec![line(self.columns.iter().map(|c| c.header).collect())];
        for row in &self.rows {
            lines.push(line(row.iter().map(String::as_str).collect()));
        }
        let dropped = widths
            .iter()
            .zip(&self.columns)
            .filter(|(w, _)| w.is_none())
            .map(|(_, c)| c.header)
            .collect();
        Rendered { lines, dropped }
    }
}

/// A table as text.
#[derive(Debug)]
pub struct Rendered {
    pub lines: Vec<String>,
    /// The headers of the columns left out to fit.
    pub dropped: Vec<&'static str>,
}

/// Each column's width (`None`: left out) within `limit`. Whole columns get their content;
/// the cuttable ones first their minimum, then what is left, shared so that a column needing
/// little gets all of it and the rest split evenly (water-filling).
fn layout(
    columns: &[Column],
    naturals: &[usize],
    minimums: &[usize],
    limit: usize,
) -> Vec<Option<usize>> {
    let minimum = |i: usize| minimums[i];
    let mut shown: Vec<bool> = vec![true; columns.len()];
    loop {
        let visible: Vec<usize> = (0..columns.len()).filter(|i| shown[*i]).collect();
        let gaps = GAP * visible.len().saturating_sub(1);
        let needed: usize = visible.iter().map(|i| minimum(*i)).sum::<usize>() + gaps;
        if needed <= limit {
            break;
        }
        let next = visible
            .iter()
            .copied()
            .filter(|i| columns[*i].drop_order > 0)
            .min_by_key(|i| (columns[*i].drop_order, usize::MAX - i));
        match next {
            Some(i) => shown[i] = false,
            None => break,
        }
    }
    let visible: Vec<usize> = (0..columns.len()).filter(|i| shown[*i]).collect();
    let gaps = GAP * visible.len().saturating_sub(1);
    let mut widths: Vec<Option<usize>> = (0..columns.len())
        .map(|i| shown[i].then(|| minimum(i)))
        .collect();
    let used: usize = widths.iter().flatten().sum::<usize>() + gaps;
    let mut spare = limit.saturating_sub(used);
    let mut wanting: Vec<usize> = visible
        .iter()
        .copied()
        .filter(|i| naturals[*i] > minimum(*i))
        .collect();
    wanting.sort_by_key(|i| naturals[*i] - minimum(*i));
    let mut left = wanting.len();
    for i in wanting {
        let share = spare / left;
        let grant = (naturals[i] - minimum(i)).min(share);
        widths[i] = widths[i].map(|w| w + grant);
        spare -= grant;
        left -= 1;
    }
    widths
}

/// `text` cut to at most `width` terminal columns, the cut marked with `…`.
fn cut(text: &str, width: usize, fit: Fit) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    match fit {
        Fit::Address => match text.rfind('@') {
            Some(at) if at > 0 => {
                let (local, domain) = text.split_at(at);
                if domain.width() + 2 <= width {
                    let mut out = head(local, width - domain.width() - 1);
                    out.push('…');
                    out.push_str(domain);
                    out
                } else {
                    format!("…{}", tail(domain, width - 1))
                }
            }
            _ => cut(text, width, Fit::Text),
        },
        Fit::Middle if width >= 5 => {
            let keep = width - 1;
            let front = head(text, keep.div_ceil(2));
            let back = tail(text, keep - front.width());
            format!("{front}…{back}")
        }
        _ => {
            let mut out = head(text, width - 1);
            out.push('…');
            out
        }
    }
}

/// The longest start of `text` at most `width` columns wide.
fn head(text: &str, width: usize) -> String {
    let mut used = 0;
    text.chars()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= width
        })
        .collect()
}

/// The longest end of `text` at most `width` columns wide.
fn tail(text: &str, width: usize) -> String {
    let mut used = 0;
    let mut kept: Vec<char> = text
        .chars()
        .rev()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= width
        })
        .collect();
    kept.reverse();
    kept.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search_like() -> Table {
        let mut t = Table::new(vec![
            Column::whole("ID"),
            Column::whole("RECEIVED").droppable(2),
            Column::address("FROM"),
            Column::text("SUBJECT"),
            Column::whole("RCPT").droppable(1),
            Column::text("STATUS"),
            Column::whole("DISPOSITION"),
        ]);
        t.row(vec![
            "17".into(),
            "2026-11-30 09:12".into(),
            "accounts-payable-notifications@invoice-portal.example".into(),
            "Your invoice INV-20931 is overdue: review the attached document today".into(),
            "12".into(),
            "Delivered (Mail Retracted)".into(),
            "malicious".into(),
        ]);
        t.row(vec![
            "3".into(),
            "2026-11-29 17:40".into(),
            "bob@corp.test".into(),
            "lunch".into(),
            "1".into(),
            "Delivered".into(),
            "clean".into(),
        ]);
        t
    }

    #[test]
    fn every_line_fits_80_columns_and_the_sender_keeps_its_domain() {
        let r = search_like().render(Width::Columns(80));
        for line in &r.lines {
            assert!(line.width() <= 80, "{} columns: {line}", line.width());
        }
        assert_eq!(r.lines.len(), 3, "one line per row, never wrapped");
        assert!(
            r.lines[1].contains("…@invoice-portal.example"),
            "{}",
            r.lines[1]
        );
        assert!(r.lines[1].contains("2026-11-30 09:12"), "{}", r.lines[1]);
        assert!(r.lines[1].contains("malicious"), "{}", r.lines[1]);
        assert!(
            r.lines[2].contains("bob@corp.test"),
            "short cells stay whole"
        );
    }

    #[test]
    fn wide_terminals_and_pipes_get_whole_cells() {
        for width in [Width::Columns(400), Width::Unlimited] {
            let r = search_like().render(width);
            assert!(r.dropped.is_empty());
            assert!(!r.lines.iter().any(|l| l.contains('…')), "{width:?}: {r:?}");
            assert!(r.lines[1].contains("review the attached document today"));
        }
    }

    #[test]
    fn narrow_terminals_drop_the_least_needed_columns_first() {
        let r = search_like().render(Width::Columns(60));
        assert_eq!(r.dropped, vec!["RECEIVED", "RCPT"], "{r:?}");
        for line in &r.lines {
            assert!(line.width() <= 60, "{line}");
        }
        let tiny = search_like().render(Width::Columns(20));
        assert!(tiny.lines.iter().all(|l| l.width() <= 20), "{tiny:?}");
    }

    #[test]
    fn cuts_are_marked_and_keep_what_matters() {
        assert_eq!(
            cut("accounts-payable@invoices.example", 20, Fit::Address),
            "ac…@invoices.example"
        );
        assert_eq!(
            cut("someone@a-very-long-domain.example", 12, Fit::Address),
            "…ain.example"
        );
        assert_eq!(cut("<abcdef123@mx.host>", 9, Fit::Middle), "<abc…ost>");
        assert_eq!(cut("Quarterly report", 8, Fit::Text), "Quarter…");
        // Double-width characters count twice: the cut never overshoots.
        let cjk = cut("請求書の確認をお願いします", 9, Fit::Text);
        assert!(cjk.width() <= 9 && cjk.ends_with('…'), "{cjk}");
    }

    #[test]
    fn the_width_comes_from_the_terminal_else_columns_else_unlimited() {
        assert_eq!(Width::decide(None, true, || Some(120)), Width::Columns(120));
        assert_eq!(Width::decide(Some("90"), true, || None), Width::Columns(90));
        assert_eq!(Width::decide(None, true, || None), Width::Columns(80));
        assert_eq!(
            Width::decide(Some("72"), false, || None),
            Width::Columns(72)
        );
        assert_eq!(Width::decide(None, false, || Some(50)), Width::Unlimited);
        assert_eq!(
            Width::decide(Some("junk"), false, || None),
            Width::Unlimited
        );
    }
}
