//! Tables that share their width by content and priority: each column asks for what its
//! widest cell on screen needs, the least important columns are dropped first when even the
//! minimums do not fit, and what is left goes to the column that reads best longer (the
//! subject). A cut is marked with `…`, and an address is cut in its local part so the domain
//! (what an analyst judges a sender by) survives.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How a cell too wide for its column is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Keep the start, `…` at the end.
    End,
    /// An email address: cut the local part first (`margaret.o…@demo.test`), then the start
    /// of the domain (`…@payroll-service.example` loses its first characters last).
    Address,
}

/// One column of a shared-width table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    pub header: &'static str,
    /// Narrower than this the column is dropped instead.
    pub min: usize,
    /// Never wider than this, however wide its cells (0: no limit).
    pub max: usize,
    /// Higher keeps the column longer and serves it first when width is shared.
    pub priority: u8,
    /// Takes the width nobody else wants.
    pub flex: bool,
    pub cut: Cut,
}

/// A column spec in one line, for the tables' `const` column lists.
pub const fn spec(
    header: &'static str,
    min: usize,
    max: usize,
    priority: u8,
    flex: bool,
    cut: Cut,
) -> ColumnSpec {
    ColumnSpec {
        header,
        min,
        max,
        priority,
        flex,
        cut,
    }
}

/// Display width of a text.
pub fn text_width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Widths of `specs` (0: the column is not shown) for a table `total` columns wide with
/// `spacing` columns between neighbours; `widest[i]` is column i's widest cell on screen.
pub fn share(specs: &[ColumnSpec], widest: &[usize], total: usize, spacing: usize) -> Vec<usize> {
    let wants: Vec<usize> = specs
        .iter()
        .zip(widest)
        .map(|(s, &w)| {
            let w = w.max(text_width(s.header)).max(s.min);
            if s.max > 0 { w.min(s.max) } else { w }
        })
        .collect();
    let mut kept: Vec<bool> = vec![true; specs.len()];
    let needed = |kept: &[bool]| {
        let n = kept.iter().filter(|k| **k).count();
        let mins: usize = specs
            .iter()
            .zip(kept)
            .filter(|(_, k)| **k)
            .map(|(s, _)| s.min)
            .sum();
        mins + spacing * n.saturating_sub(1)
    };
    while needed(&kept) > total && kept.iter().filter(|k| **k).count() > 1 {
        // Drop the least important column still shown (the rightmost of equals).
        let drop = (0..specs.len())
            .filter(|&i| kept[i])
            .min_by_key(|&i| (specs[i].priority, std::cmp::Reverse(i)));
        match drop {
            Some(i) => kept[i] = false,
            None => break,
        }
    }
    let mut widths: Vec<usize> = specs
        .iter()
        .zip(&kept)
        .map(|(s, &k)| if k { s.min } else { 0 })
        .collect();
    let mut left = total.saturating_sub(needed(&kept));
    let mut order: Vec<usize> = (0..specs.len()).filter(|&i| kept[i]).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(specs[i].priority), i));
    for &i in &order {
        let more = wants[i].saturating_sub(widths[i]).min(left);
        widths[i] += more;
        left -= more;
    }
    if let Some(i) = order.iter().copied().find(|&i| specs[i].flex) {
        widths[i] += left;
    }
    widths
}

/// `text` cut to `width` display columns the way `cut` says, `…` marking the cut.
pub fn cut(text: &str, width: usize, how: Cut) -> String {
    if text_width(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    match how {
        Cut::End => keep_start(text, width - 1) + "…",
        Cut::Address => match text.rfind('@') {
            Some(at) => {
                let (local, domain) = text.split_at(at);
                let domain_width = text_width(domain);
                if domain_width + 2 <= width {
                    keep_start(local, width - 1 - domain_width) + "…" + domain
                } else {
                    "…".to_string() + &keep_end(domain, width - 1)
                }
            }
            None => keep_start(text, width - 1) + "…",
        },
    }
}

/// The longest start of `text` at most `width` columns wide.
fn keep_start(text: &str, width: usize) -> String {
    let mut used = 0;
    text.chars()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= width
        })
        .collect()
}

/// The longest end of `text` at most `width` columns wide.
fn keep_end(text: &str, width: usize) -> String {
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

    fn col(header: &'static str, min: usize, priority: u8, flex: bool) -> ColumnSpec {
        ColumnSpec {
            header,
            min,
            max: 0,
            priority,
            flex,
            cut: Cut::End,
        }
    }

    #[test]
    fn an_address_keeps_its_domain() {
        let a = "margaret.okafor@demo.test";
        assert_eq!(cut(a, 40, Cut::Address), a);
        assert_eq!(cut(a, 20, Cut::Address), "margaret.…@demo.test");
        assert_eq!(text_width(&cut(a, 20, Cut::Address)), 20);
        assert_eq!(
            cut("support@payroll-service.example", 14, Cut::Address),
            "…rvice.example"
        );
        assert_eq!(cut("no-at-sign-here", 8, Cut::Address), "no-at-s…");
        assert_eq!(cut("Invoice for November", 10, Cut::End), "Invoice f…");
        assert_eq!(cut("請求書のお知らせ", 7, Cut::End), "請求書…");
    }

    #[test]
    fn width_goes_by_priority_and_the_least_important_column_goes_first() {
        let specs = [
            col("ID", 3, 9, false),
            col("FROM", 10, 8, false),
            col("SUBJECT", 10, 7, true),
            col("RECIPIENTS", 10, 1, false),
        ];
        // Everything fits: each column gets its widest cell, the subject the rest.
        assert_eq!(share(&specs, &[3, 20, 30, 15], 100, 1), vec![3, 20, 59, 15]);
        // Too narrow for every minimum: the recipients go, the rest share what is left.
        assert_eq!(share(&specs, &[3, 20, 30, 15], 30, 1), vec![3, 15, 10, 0]);
    }
}
