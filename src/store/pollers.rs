//! Poller cursors: how far each alert poller (Proofpoint TAP, Defender) has read its source.
//!
//! A cursor is written only after every alert of the window it closes was handed to the sink,
//! so a service killed mid-window reads that window again (repeats are recognised by the
//! sink) rather than skipping it.

use rusqlite::{OptionalExtension, params};

use super::{Result, SqliteStore};

impl SqliteStore {
    /// The cursor stored for `source` (`proofpoint-tap:<principal>`, `defender:<tenant>`).
    pub fn poller_cursor(&self, source: &str) -> Result<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT cursor FROM poller_cursors WHERE source = ?1")?
                .query_row(params![source], |r| r.get::<_, String>(0))
                .optional()?)
        })
    }

    /// Store `cursor` as where `source` got to, replacing the one before.
    pub fn set_poller_cursor(&self, source: &str, cursor: &str) -> Result<()> {
        self.write(|tx, now| {
            tx.prepare_cached(
                "INSERT INTO poller_cursors (source, cursor, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,
                     updated_at = excluded.updated_at",
            )?
            .execute(params![source, cursor, now.millis()])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::temp_store;

    #[test]
    fn a_cursor_is_kept_per_source_and_replaced() {
        let (_dir, store) = temp_store();
        assert_eq!(store.poller_cursor("tap").unwrap(), None);
        store
            .set_poller_cursor("tap", "2026-12-01T10:00:00Z")
            .unwrap();
        store.set_poller_cursor("defender", "d1").unwrap();
        store
            .set_poller_cursor("tap", "2026-12-01T11:00:00Z")
            .unwrap();
        assert_eq!(
            store.poller_cursor("tap").unwrap().as_deref(),
            Some("2026-12-01T11:00:00Z")
        );
        assert_eq!(
            store.poller_cursor("defender").unwrap().as_deref(),
            Some("d1")
        );
    }
}
