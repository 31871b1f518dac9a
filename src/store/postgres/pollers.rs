//! Poller cursors on PostgreSQL: the SQLite store's statements (see `store::pollers`). The
//! write is one upsert, so two services saving the same source's cursor never conflict; the
//! later commit stands.

use super::PgStore;
use super::decode::get;
use crate::store::{PollerCursors, Result};

impl PollerCursors for PgStore {
    fn poller_cursor(&self, source: &str) -> Result<Option<String>> {
        self.read(|tx, _| {
            tx.query_opt(
                "SELECT cursor FROM poller_cursors WHERE source = $1",
                &[&source],
            )?
            .map(|r| get(&r, 0))
            .transpose()
        })
    }

    fn set_poller_cursor(&self, source: &str, cursor: &str) -> Result<()> {
        self.write(|tx, now| {
            tx.execute(
                "INSERT INTO poller_cursors (source, cursor, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,
                     updated_at = excluded.updated_at",
                &[&source, &cursor, &now.millis()],
            )?;
            Ok(())
        })
    }
}
