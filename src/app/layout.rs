//! Screen geometry shared by `update` (how many rows a page holds) and `ui` (where to draw).
//! Pure arithmetic: both sides must agree, so it lives in one place.

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
pub fn messages_split(width: u16, height: u16, detail_open: bool) -> (u16, u16) {
    let body = height.saturating_sub(CHROME + SEARCH_BAR);
    match (detail_open, compact(width, height)) {
        (false, _) => (body, 0),
        (true, true) => (0, body),
        (true, false) => {
            let table = body * 2 / 5;
            (table, body - table)
        }
    }
}

/// Data rows a bordered table with a header line shows in `height` lines.
pub fn table_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_layout_gives_the_detail_the_whole_body() {
        assert_eq!(messages_split(80, 24, false), (19, 0));
        assert_eq!(messages_split(80, 24, true), (0, 19));
        assert_eq!(messages_split(120, 40, true), (14, 21));
        assert_eq!(table_rows(19), 16);
    }
}
