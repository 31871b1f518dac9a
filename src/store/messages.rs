//! The message log: ingest, lookup by REF, deliveries, conversation by depth.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::decode::RowOf;
use super::{Result, SqliteStore, StoreError};
use crate::model::{
    Delivery, DeliveryState, LoggedMessage, MessageRecord, MessageStatus, normalize_message_id,
};

/// One record ready for the log: the tenant is decided and each recipient marked external or not.
pub struct NewMessage<'a> {
    pub record: &'a MessageRecord,
    pub tenant: &'a str,
    /// (recipient, external)
    pub recipients: Vec<(String, bool)>,
}

/// What an ingest batch changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub inserted: u64,
    /// Records whose Message-ID was already logged for the tenant (new recipients are merged).
    pub merged: u64,
}

/// A message one depth away from the root of a conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationEntry {
    pub depth: u32,
    pub message: LoggedMessage,
}

/// A message with everything `show` prints.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageDetail {
    pub message: LoggedMessage,
    pub deliveries: Vec<Delivery>,
}

/// How a REF resolved.
pub enum RefMatch {
    One(Box<LoggedMessage>),
    None,
    Several(Vec<LoggedMessage>),
}

pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.message_id, m.sender, m.subject, m.received_at, \
     m.recipients, m.status, m.retracted_count, m.actionable_count, m.disposition, m.tenant, \
     m.in_reply_to, m.refs, m.size, m.source_id";

/// (mailbox, placements) of the retract and sweep items that recorded a copy of a Message-ID
/// in a tenant, oldest first: the first one per mailbox says where the copy was before
/// anything was done. Restore items are left out (they carry the placements they undo).
const FIRST_PLACEMENTS: &str = "SELECT i.mailbox, i.placements, i.id FROM items i
     JOIN jobs j ON j.id = i.job
     WHERE i.message_id = ?1 AND i.tenant = ?2 AND j.kind IN ('retract', 'sweep')
       AND i.placements <> '[]'
     ORDER BY i.id";

/// An item row of [`FIRST_PLACEMENTS`]: its id last.
const PLACED_ROW: RowOf = RowOf {
    table: "items",
    id_column: 2,
};

/// Fill each delivery's read state and original folder from the first placement recorded
/// for its mailbox; `placed` is (mailbox, placements) oldest first. Later placements are
/// where earlier jobs (or a restore) had put the copy, so only the first one counts.
pub(in crate::store) fn note_first_placements(
    deliveries: &mut [Delivery],
    placed: Vec<(String, Vec<crate::model::Placement>)>,
) {
    let mut first: std::collections::HashMap<String, crate::model::Location> =
        std::collections::HashMap::new();
    for (mailbox, placements) in placed {
        if let Some(p) = placements.into_iter().next() {
            first.entry(mailbox).or_insert(p.from);
        }
    }
    for d in deliveries.iter_mut().filter(|d| !d.mailbox.is_empty()) {
        if let Some(from) = first.get(&d.mailbox) {
            d.read = Some(from.seen);
            d.original_folder = Some(from.folder.clone());
        }
    }
}

/// A message row (selected as [`MESSAGE_COLUMNS`]): id first.
const MESSAGE_ROW: RowOf = RowOf {
    table: "messages",
    id_column: 0,
};

pub(super) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<LoggedMessage> {
    let recipients: String = row.get(5)?;
    Ok(LoggedMessage {
        id: row.get(0)?,
        message_id: row.get(1)?,
        from: row.get(2)?,
        subject: row.get(3)?,
        received_at: MESSAGE_ROW.secs(row, 4, "received_at")?,
        recipients: recipients.split_whitespace().map(str::to_string).collect(),
        status: MESSAGE_ROW.known(row, 6, "status", MessageStatus::parse)?,
        retracted_count: row.get(7)?,
        actionable_count: row.get(8)?,
        disposition: row.get(9)?,
        tenant: row.get(10)?,
        in_reply_to: row.get(11)?,
        references: MESSAGE_ROW.json(row, 12, "refs")?,
        size: row.get::<_, Option<i64>>(13)?.map(|s| s.max(0) as u64),
        source_id: row.get(14)?,
    })
}

impl SqliteStore {
    /// Add records to the log in one transaction. A record whose Message-ID the tenant already
    /// logged adds its new recipients to the existing entry, so re-ingesting a file is harmless.
    pub fn insert_messages(&self, batch: &[NewMessage<'_>]) -> Result<IngestStats> {
        self.write(|tx, _| {
            let mut stats = IngestStats::default();
            for m in batch {
                if insert_one(tx, m)? {
                    stats.inserted += 1;
                } else {
                    stats.merged += 1;
                }
            }
            Ok(stats)
        })
    }

    /// The message with this log id.
    pub fn message(&self, id: i64) -> Result<LoggedMessage> {
        self.read(|tx| {
            tx.query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?1"),
                [id],
                message_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no message with log id {id}")))
        })
    }

    /// Resolve a REF: a log id, or a Message-ID with or without brackets.
    pub fn resolve_ref(&self, reference: &str) -> Result<RefMatch> {
        let reference = reference.trim();
        if let Ok(id) = reference.parse::<i64>() {
            return match self.message(id) {
                Ok(m) => Ok(RefMatch::One(Box::new(m))),
                Err(StoreError::NotFound(_)) => Ok(RefMatch::None),
                Err(e) => Err(e),
            };
        }
        let mut found = self.messages_by_message_id(&normalize_message_id(reference))?;
        Ok(match found.len() {
            0 => RefMatch::None,
            1 => RefMatch::One(Box::new(found.remove(0))),
            _ => RefMatch::Several(found),
        })
    }

    /// Every logged message (one per tenant) with this exact Message-ID.
    pub fn messages_by_message_id(&self, message_id: &str) -> Result<Vec<LoggedMessage>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.message_id = ?1 ORDER BY m.id"
            ))?;
            let rows = stmt.query_map([message_id], message_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Up to `limit` messages with a log id above `after_id` received within `within` of
    /// now, by log id: a hunt reads the log forward from where it stopped.
    pub fn messages_after(
        &self,
        after_id: i64,
        within: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<LoggedMessage>> {
        let since = self
            .now()
            .0
            .timestamp()
            .saturating_sub(i64::try_from(within.as_secs()).unwrap_or(i64::MAX));
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id > ?1 AND m.received_at >= ?2
                 ORDER BY m.id LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                rusqlite::params![after_id, since, limit as i64],
                message_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The (tenant, mailbox) pairs the log names as internal recipients of a message received
    /// within `within` of now, sorted: the mailboxes a hunt reads.
    pub fn mailboxes_within(&self, within: std::time::Duration) -> Result<Vec<(String, String)>> {
        let since = self
            .now()
            .0
            .timestamp()
            .saturating_sub(i64::try_from(within.as_secs()).unwrap_or(i64::MAX));
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT DISTINCT m.tenant, d.mailbox FROM messages m
                 JOIN deliveries d ON d.message = m.id
                 WHERE m.received_at >= ?1 AND d.external = 0 AND d.mailbox <> ''
                 ORDER BY m.tenant, d.mailbox",
            )?;
            let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One message with its per-recipient deliveries.
    pub fn message_detail(&self, id: i64, holds: &dyn Fn(&str) -> bool) -> Result<MessageDetail> {
        let message = self.message(id)?;
        let deliveries = self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT recipient, mailbox, status, folder, external, message FROM deliveries
                 WHERE message = ?1 ORDER BY external, recipient",
            )?;
            // Deliveries have no id of their own: the row named is the message's.
            let delivery_row = RowOf {
                table: "deliveries",
                id_column: 5,
            };
            let rows = stmt.query_map([id], |r| {
                let mailbox: String = r.get(1)?;
                Ok(Delivery {
                    recipient: r.get(0)?,
                    on_hold: !mailbox.is_empty() && holds(&mailbox),
                    mailbox,
                    status: delivery_row.known(r, 2, "status", DeliveryState::parse)?,
                    folder: r.get(3)?,
                    external: r.get(4)?,
                    read: None,
                    original_folder: None,
                })
            })?;
            let mut deliveries = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut stmt = tx.prepare_cached(FIRST_PLACEMENTS)?;
            let placed = stmt.query_map(params![message.message_id, message.tenant], |r| {
                Ok((r.get::<_, String>(0)?, PLACED_ROW.json(r, 1, "placements")?))
            })?;
            note_first_placements(
                &mut deliveries,
                placed.collect::<rusqlite::Result<Vec<_>>>()?,
            );
            Ok(deliveries)
        })?;
        Ok(MessageDetail {
            message,
            deliveries,
        })
    }

    /// The logged replies and forwards of `root`, depth by depth, up to `max_depth`.
    /// Each message appears once, at the smallest depth that reaches it.
    pub fn conversation(
        &self,
        root: &LoggedMessage,
        max_depth: u32,
    ) -> Result<Vec<ConversationEntry>> {
        let mut seen = std::collections::HashSet::from([root.message_id.clone()]);
        let mut frontier = vec![root.message_id.clone()];
        let mut out = Vec::new();
        for depth in 1..=max_depth {
            let next: Vec<LoggedMessage> = self
                .children(&frontier)?
                .into_iter()
                .filter(|m| seen.insert(m.message_id.clone()))
                .collect();
            if next.is_empty() {
                break;
            }
            frontier = next.iter().map(|m| m.message_id.clone()).collect();
            out.extend(
                next.into_iter()
                    .map(|message| ConversationEntry { depth, message }),
            );
        }
        Ok(out)
    }

    /// The deliveries of a message: (recipient, mailbox, external).
    pub fn deliveries_of(&self, message: i64) -> Result<Vec<(String, String, bool)>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT recipient, mailbox, external FROM deliveries WHERE message = ?1 ORDER BY recipient",
            )?;
            let rows = stmt.query_map([message], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// How many messages the log holds.
    pub fn message_count(&self) -> Result<u64> {
        self.read(|tx| {
            Ok(tx.query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    /// Set a logged message's disposition (an analyst's report overrides the gateway's
    /// verdict), lower-cased as ingest stores it; `NotFound` when no such log id.
    pub fn set_disposition(&self, id: i64, disposition: &str) -> Result<()> {
        self.write(|tx, _| {
            let changed = tx.execute(
                "UPDATE messages SET disposition = ?1 WHERE id = ?2",
                rusqlite::params![disposition.to_ascii_lowercase(), id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("no message with log id {id}")));
            }
            Ok(())
        })
    }
}

/// Insert one record; `false` when it merged into an existing entry.
fn insert_one(tx: &Transaction<'_>, m: &NewMessage<'_>) -> Result<bool> {
    let r = m.record;
    let message_id = normalize_message_id(&r.message_id);
    let recipients: Vec<&str> = m.recipients.iter().map(|(a, _)| a.as_str()).collect();
    let actionable = m.recipients.iter().filter(|(_, ext)| !ext).count() as i64;
    let refs: Vec<String> = r
        .references
        .iter()
        .map(|s| normalize_message_id(s))
        .collect();
    let in_reply_to = r.in_reply_to.as_deref().map(normalize_message_id);
    // `RETURNING` names the new row without `last_insert_rowid` (a connection's last insert
    // is not a notion every database shares); a conflict returns no row.
    let inserted: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO messages (message_id, tenant, sender, subject, recipients, received_at,
                 disposition, in_reply_to, refs, size, source_id, actionable_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (message_id, tenant) DO NOTHING RETURNING id",
        )?
        .query_row(
            params![
                message_id,
                m.tenant,
                crate::model::normalize_address(&r.from),
                r.subject,
                recipients.join(" "),
                r.received_at.timestamp(),
                r.disposition.as_deref().map(str::to_ascii_lowercase),
                in_reply_to,
                serde_json::to_string(&refs).unwrap_or_else(|_| "[]".into()),
                r.size.map(|s| s as i64),
                r.source_id,
                actionable,
            ],
            |r| r.get(0),
        )
        .optional()?;
    let (id, fresh) = if let Some(id) = inserted {
        (id, true)
    } else {
        let id: i64 = tx
            .prepare_cached("SELECT id FROM messages WHERE message_id = ?1 AND tenant = ?2")?
            .query_row(params![message_id, m.tenant], |r| r.get(0))?;
        (id, false)
    };
    let mut added = 0;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO deliveries (message, recipient, mailbox, external) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (recipient, external) in &m.recipients {
            let mailbox = if *external { "" } else { recipient.as_str() };
            added += stmt.execute(params![id, recipient, mailbox, external])?;
        }
    }
    if fresh {
        if let Some(parent) = crate::model::direct_parent(in_reply_to.as_deref(), &refs)
            && parent != message_id
        {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO message_refs (parent, child) VALUES (?1, ?2)",
            )?
            .execute(params![parent, id])?;
        }
    } else if added > 0 {
        tx.prepare_cached(
            "UPDATE messages SET
                recipients = (SELECT group_concat(recipient, ' ') FROM deliveries WHERE message = ?1),
                actionable_count = (SELECT count(*) FROM deliveries WHERE message = ?1 AND external = 0)
             WHERE id = ?1",
        )?
        .execute([id])?;
    }
    Ok(fresh)
}

/// How often [`set_delivery_state`] re-reads a delivery whose status changed under it.
const DELIVERY_RETRIES: usize = 8;

/// Record a delivery's new state and recompute its message's status (inside a job result's
/// transaction, so the log never disagrees with the items).
///
/// The running totals move by the difference between the old state and the new, so the old
/// state must be the one replaced: the delivery's UPDATE names it in its WHERE
/// (compare-and-set), and a state changed by someone else between the read and the write is
/// read again. Under SQLite's one writer that never happens; on a multi-writer database it
/// keeps the totals right without a lock (`SELECT ... FOR UPDATE` on the delivery row would
/// do as well).
pub(super) fn set_delivery_state(
    tx: &Transaction<'_>,
    message: i64,
    mailbox: &str,
    state: DeliveryState,
    folder: Option<&str>,
) -> Result<()> {
    for _ in 0..DELIVERY_RETRIES {
        let old: Option<String> = tx
            .prepare_cached("SELECT status FROM deliveries WHERE message = ?1 AND mailbox = ?2")?
            .query_row(params![message, mailbox], |r| r.get(0))
            .optional()?;
        let Some(old) = old else {
            return Ok(());
        };
        // A failure says nothing about where a copy already pulled or restored is: only a
        // copy still as delivered is marked failed.
        if state == DeliveryState::Failed && !matches!(old.as_str(), "delivered" | "failed") {
            return Ok(());
        }
        let changed = tx
            .prepare_cached(
                "UPDATE deliveries SET status = ?3, folder = coalesce(?4, folder)
                 WHERE message = ?1 AND mailbox = ?2 AND status = ?5",
            )?
            .execute(params![message, mailbox, state.as_str(), folder, old])?;
        if changed == 0 {
            continue;
        }
        // Running totals, not a recount: a 5,000-recipient message would otherwise cost a
        // scan of its deliveries for every item finished. The status is computed from the
        // new totals in the same statement (SET's right sides see the old row).
        let delta = |s: DeliveryState| i64::from(state == s) - i64::from(old == s.as_str());
        tx.prepare_cached(
            "UPDATE messages SET retracted_count = retracted_count + ?2,
                 restored_count = restored_count + ?3, failed_count = failed_count + ?4,
                 status = CASE
                     WHEN actionable_count > 0 AND retracted_count + ?2 = actionable_count
                         THEN 'retracted'
                     WHEN retracted_count + ?2 > 0 THEN 'partial'
                     WHEN failed_count + ?4 > 0 THEN 'failed'
                     WHEN restored_count + ?3 > 0 THEN 'restored'
                     ELSE 'delivered' END
             WHERE id = ?1",
        )?
        .execute(params![
            message,
            delta(DeliveryState::Retracted),
            delta(DeliveryState::Restored),
            delta(DeliveryState::Failed)
        ])?;
        return Ok(());
    }
    Err(StoreError::Database(format!(
        "deliveries of message {message} to {mailbox}: the state kept changing while it was \
         recorded ({DELIVERY_RETRIES} attempts)"
    )))
}

impl SqliteStore {
    /// Logged messages whose In-Reply-To or References name one of `parents`.
    pub fn children(&self, parents: &[String]) -> Result<Vec<LoggedMessage>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM message_refs r JOIN messages m ON m.id = r.child
                 WHERE r.parent = ?1 ORDER BY m.received_at, m.id"
            ))?;
            let mut out: Vec<LoggedMessage> = Vec::new();
            for parent in parents {
                for child in stmt.query_map([parent], message_from_row)? {
                    let child = child?;
                    if !out.iter().any(|m| m.id == child.id) {
                        out.push(child);
                    }
                }
            }
            Ok(out)
        })
    }

    /// The log entry of `message_id` in `tenant`, if logged.
    pub fn logged_id(&self, message_id: &str, tenant: &str) -> Result<Option<i64>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT id FROM messages WHERE message_id = ?1 AND tenant = ?2")?
                .query_row(params![message_id, tenant], |r| r.get(0))
                .optional()?)
        })
    }
}
