//! Screen geometry shared by `update` (how many rows a page holds, what a mouse click hit) and
//! `ui` (where to draw). Pure arithmetic: both sides must agree, so it lives in one place.

use ratatui::layout::{Constraint, Layout, Position, Rect};

use super::{Tab, View};

/// Below this width or height the console uses its compact layout: the detail pane replaces
/// the table instead of sharing the screen with it.
pub const COMPACT_WIDTH: u16 = 100;
/// See [`COMPACT_WIDTH`].
pub const COMPACT_HEIGHT: u16 = 30;

/// Lines taken by the view bar (top) and the status line (bottom).
pub const CHROME: u16 = 2;
/// Lines of the search bar (a bordered single-line input).
pub const SEARCH_BAR: u16 = 3;

/// Whether a screen of this size uses the compact layout.
pub fn compact(width: u16, height: u16) -> bool {
    width < COMPACT_WIDTH || height < COMPACT_HEIGHT
}

/// Heights of the message table and the detail pane in the Messages view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessagesSplit {
    pub table: u16,
    pub detail: u16,
}

/// How the Messages view shares its height between the table and the detail pane.
pub fn messages_split(width: u16, height: u16, detail_open: bool) -> MessagesSplit {
    let body = height.saturating_sub(CHROME + SEARCH_BAR);
    let (table, detail) = match (detail_open, compact(width, height)) {
        (false, _) => (body, 0),
        (true, true) => (0, body),
        (true, false) => {
            let table = body * 2 / 5;
            (table, body - table)
        }
    };
    MessagesSplit { table, detail }
}

/// Data rows a bordered table with a header line shows in `height` lines.
pub fn table_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(3))
}

/// The three bands of every screen: the view bar, the view's body, the status line.
pub fn bands(screen: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(screen)
}

/// The Messages body: the search bar, the log table and the detail pane (either may be empty).
pub fn messages_areas(body: Rect, width: u16, height: u16, detail_open: bool) -> [Rect; 3] {
    let MessagesSplit { table, detail } = messages_split(width, height, detail_open);
    Layout::vertical([
        Constraint::Length(SEARCH_BAR),
        Constraint::Length(table),
        Constraint::Length(detail),
    ])
    .areas(body)
}

/// The Operations body: the jobs table, and a job's items under it when one is open. The
/// Pending view shares it: its requests, and the selected one's facts under them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationsAreas {
    pub jobs: Rect,
    pub items: Option<Rect>,
}

/// Where the Operations view draws its jobs and, when one is open, a job's items.
pub fn operations_areas(body: Rect, items_open: bool) -> OperationsAreas {
    if !items_open {
        return OperationsAreas {
            jobs: body,
            items: None,
        };
    }
    let [jobs, items] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Min(0)]).areas(body);
    OperationsAreas {
        jobs,
        items: Some(items),
    }
}

/// The open job's items: the filter line (what `/` typed, or how to filter), the table.
pub fn items_areas(items: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(items)
}

/// The Audit body: the filter, the chain's state line, the records table.
pub fn audit_areas(body: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(SEARCH_BAR),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(body)
}

/// The view bar's brand, drawn before the view names.
pub const BRAND: &str = " retractor ";

/// The view bar's entries in order: the view and its label (`1 Messages`).
pub const VIEW_LABELS: [(View, &str); 4] = [
    (View::Messages, "1 Messages"),
    (View::Operations, "2 Operations"),
    (View::Audit, "3 Audit"),
    (View::Pending, "4 Pending"),
];

/// The view whose label in the view bar covers column `x`. Labels are separated by one space,
/// after the brand, exactly as `ui` draws them.
pub fn view_at(x: u16) -> Option<View> {
    let mut start = BRAND.len() as u16;
    for (view, label) in VIEW_LABELS {
        start += 1;
        let end = start + label.len() as u16;
        if (start..end).contains(&x) {
            return Some(view);
        }
        start = end;
    }
    None
}

/// The detail tab whose title covers column `x` of the pane's top border. `ui` draws the
/// titles after the corner, as ` Summary Recipients Conversation Headers `.
pub fn tab_at(pane: Rect, x: u16) -> Option<Tab> {
    let mut start = pane.x + 2;
    for tab in Tab::ALL {
        let end = start + tab.title().len() as u16;
        if (start..end).contains(&x) {
            return Some(tab);
        }
        start = end + 1;
    }
    None
}

/// The first row a list of `len` rows, `visible` at a time, shows, given the first row it
/// showed before (`top`): the list scrolls only when the selection would leave the screen,
/// and then just enough to keep it on the nearest edge, so the rows under a pointer or the eye
/// stay put. It never leaves blank lines under the last row while earlier rows are hidden (a
/// list that shrank, a taller terminal).
pub fn list_offset(top: usize, selected: usize, visible: usize, len: usize) -> usize {
    let at = if selected < top || visible == 0 {
        selected
    } else if selected >= top + visible {
        selected + 1 - visible
    } else {
        top
    };
    at.min(len.saturating_sub(visible))
}

/// Which data row of a bordered table with a header line (drawn in `area`) the point is on:
/// 0 for the first row shown. `None` on the border, the header or outside.
pub fn table_row_at(area: Rect, at: Position) -> Option<usize> {
    let first = area.y + 2;
    let last = area.y + area.height.saturating_sub(1);
    let inside = at.x > area.x && at.x + 1 < area.x + area.width;
    (inside && (first..last).contains(&at.y)).then(|| usize::from(at.y - first))
}

/// The retract tab inside the detail pane's border: the action and depth line, the counts
/// (one line per depth plus the total), the recipient list's header, the list, the reason line.
pub fn recipients_areas(inner: Rect, depth_lines: u16) -> [Rect; 5] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(depth_lines.max(1) + 1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner)
}

/// Where a line is cut into rows of `width` columns: byte ranges of `text`, breaking after
/// the last space that fits, or inside a word longer than a row. The Conversation and Headers
/// tabs draw exactly these rows, so `G` can stop at the last screenful.
pub fn wrap_ranges(text: &str, width: u16) -> Vec<std::ops::Range<usize>> {
    let width = usize::from(width.max(1));
    let mut rows = Vec::new();
    let (mut start, mut used, mut last_space) = (0, 0, None);
    for (i, c) in text.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width && i > start {
            let cut = last_space.filter(|&s| s > start).unwrap_or(i);
            rows.push(start..cut);
            used = text[cut..i]
                .chars()
                .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0))
                .sum();
            start = cut;
            last_space = None;
        }
        used += w;
        if c == ' ' {
            last_space = Some(i + 1);
        }
    }
    rows.push(start..text.len());
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_map_to_the_labels_and_rows_drawn() {
        // " retractor " is 11 columns; then " 1 Messages" " 2 Operations" " 3 Audit".
        assert_eq!(view_at(11), None);
        assert_eq!(view_at(12), Some(View::Messages));
        assert_eq!(view_at(21), Some(View::Messages));
        assert_eq!(view_at(22), None);
        assert_eq!(view_at(23), Some(View::Operations));
        assert_eq!(view_at(36), Some(View::Audit));
        assert_eq!(view_at(43), None);
        assert_eq!(view_at(44), Some(View::Pending));
        assert_eq!(view_at(52), Some(View::Pending));
        assert_eq!(view_at(53), None);
        let pane = Rect::new(0, 10, 80, 10);
        assert_eq!(tab_at(pane, 1), None);
        assert_eq!(tab_at(pane, 2), Some(Tab::Summary));
        assert_eq!(tab_at(pane, 10), Some(Tab::Recipients));
        assert_eq!(tab_at(pane, 9), None);
        let table = Rect::new(0, 4, 120, 10);
        assert_eq!(table_row_at(table, Position::new(5, 5)), None, "header");
        assert_eq!(table_row_at(table, Position::new(5, 6)), Some(0));
        assert_eq!(table_row_at(table, Position::new(5, 12)), Some(6));
        assert_eq!(table_row_at(table, Position::new(5, 13)), None, "border");
        assert_eq!(table_row_at(table, Position::new(0, 6)), None, "border");
    }

    #[test]
    fn a_list_scrolls_only_to_keep_the_selection_on_screen() {
        assert_eq!(list_offset(0, 0, 10, 100), 0);
        assert_eq!(list_offset(0, 9, 10, 100), 0);
        assert_eq!(list_offset(0, 10, 10, 100), 1);
        assert_eq!(
            list_offset(20, 25, 10, 100),
            20,
            "inside the window: no scroll"
        );
        assert_eq!(
            list_offset(20, 25, 10, 26),
            16,
            "no blank lines under the last row"
        );
        assert_eq!(list_offset(20, 3, 10, 5), 0, "a short list from its top");
        assert_eq!(
            list_offset(20, 19, 10, 100),
            19,
            "above: the selection becomes the top"
        );
        assert_eq!(
            list_offset(20, 40, 10, 100),
            31,
            "below: the selection becomes the bottom"
        );
        assert_eq!(list_offset(3, 5, 0, 100), 5);
    }

    #[test]
    fn compact_layout_gives_the_detail_the_whole_body() {
        let split = |table, detail| MessagesSplit { table, detail };
        assert_eq!(messages_split(80, 24, false), split(19, 0));
        assert_eq!(messages_split(80, 24, true), split(0, 19));
        assert_eq!(messages_split(120, 40, true), split(14, 21));
        assert_eq!(table_rows(19), 16);
    }

    #[test]
    fn wrapping_breaks_after_spaces_and_inside_long_words() {
        fn cut(t: &str, w: u16) -> Vec<&str> {
            wrap_ranges(t, w).into_iter().map(|r| &t[r]).collect()
        }
        assert_eq!(
            cut("please review and sign", 10),
            ["please ", "review ", "and sign"]
        );
        assert_eq!(cut("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
        assert_eq!(cut("", 5), [""]);
        assert_eq!(cut("短い日本語の件名", 6), ["短い日", "本語の", "件名"]);
    }
}
