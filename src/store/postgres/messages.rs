//! The message log on PostgreSQL: ingest, lookup by REF, deliveries, conversation by depth.

use std::collections::HashSet;

use postgres::Row;

use super::PgStore;
use super::decode::{RowOf, get, narrow};
use super::search;
use super::statements::Tx;
use crate::model::{Delivery, DeliveryState, LoggedMessage, MessageStatus, normalize_message_id};
use crate::query::Query;
use crate::store::messages::note_first_placements;
use crate::store::{
    ConversationEntry, IngestStats, MessageDetail, MessageLog, NewMessage, PageAnchor, RefMatch,
    Result, StoreError,
};

pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.message_id, m.sender, m.subject, m.received_at, \
     m.recipients, m.status, m.retracted_count, m.actionable_count, m.disposition, m.tenant, \
     m.in_reply_to, m.refs, m.size, m.source_id";

const MESSAGE_ROW: RowOf = RowOf {
    table: "messages",
    id_column: 0,
};

/// A message row selected as [`MESSAGE_COLUMNS`].
pub(super) fn message_from_row(row: &Row) -> Result<LoggedMessage> {
    let recipients: String = get(row, 5)?;
    Ok(LoggedMessage {
        id: get(row, 0)?,
        message_id: get(row, 1)?,
        from: get(row, 2)?,
        subject: get(row, 3)?,
        received_at: MESSAGE_ROW.secs(row, 4, "received_at")?,
        recipients: recipients.split_whitespace().map(str::to_string).collect(),
        status: MESSAGE_ROW.known(row, 6, "status", MessageStatus::parse)?,
        retracted_count: narrow(row, MESSAGE_ROW, 7, "retracted_count")?,
        actionable_count: narrow(row, MESSAGE_ROW, 8, "actionable_count")?,
        disposition: get(row, 9)?,
        tenant: get(row, 10)?,
        in_reply_to: get(row, 11)?,
        references: MESSAGE_ROW.json(row, 12, "refs")?,
        size: get::<Option<i64>>(row, 13)?.map(|s| s.max(0) as u64),
        source_id: get(row, 14)?,
    })
}

/// Every row decoded, or the first that does not decode.
pub(super) fn messages_from(rows: &[Row]) -> Result<Vec<LoggedMessage>> {
    rows.iter().map(message_from_row).collect()
}

impl MessageLog for PgStore {
    fn insert_messages(&self, batch: &[NewMessage<'_>]) -> Result<IngestStats> {
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

    fn message(&self, id: i64) -> Result<LoggedMessage> {
        self.read(|tx, _| message_in(tx, id))
    }

    fn resolve_ref(&self, reference: &str) -> Result<RefMatch> {
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

    fn messages_after(
        &self,
        after_id: i64,
        within: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<LoggedMessage>> {
        let within = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|tx, now| {
            let since = now.timestamp().saturating_sub(within);
            let rows = tx.query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id > $1 AND m.received_at >= $2
                     ORDER BY m.id LIMIT $3"
                ),
                &[&after_id, &since, &limit],
            )?;
            messages_from(&rows)
        })
    }

    fn mailboxes_within(&self, within: std::time::Duration) -> Result<Vec<(String, String)>> {
        let within = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
        self.read(|tx, now| {
            let since = now.timestamp().saturating_sub(within);
            let rows = tx.query(
                "SELECT DISTINCT m.tenant, d.mailbox FROM messages m
                 JOIN deliveries d ON d.message = m.id
                 WHERE m.received_at >= $1 AND NOT d.external AND d.mailbox <> ''
                 ORDER BY m.tenant, d.mailbox",
                &[&since],
            )?;
            rows.iter()
                .map(|r| Ok((get::<String>(r, 0)?, get::<String>(r, 1)?)))
                .collect()
        })
    }

    fn messages_by_message_id(&self, message_id: &str) -> Result<Vec<LoggedMessage>> {
        self.read(|tx, _| {
            let rows = tx.query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.message_id = $1 ORDER BY m.id"
                ),
                &[&message_id],
            )?;
            messages_from(&rows)
        })
    }

    fn message_detail(&self, id: i64, holds: &dyn Fn(&str) -> bool) -> Result<MessageDetail> {
        let (message, mut deliveries, placed) = self.read(|tx, _| {
            let message = message_in(tx, id)?;
            let rows = tx.query(
                "SELECT recipient, mailbox, status, folder, external, message FROM deliveries
                 WHERE message = $1 ORDER BY external, recipient",
                &[&id],
            )?;
            // Deliveries have no id of their own: the row named is the message's.
            let delivery_row = RowOf {
                table: "deliveries",
                id_column: 5,
            };
            let deliveries = rows
                .iter()
                .map(|r| {
                    Ok(Delivery {
                        recipient: get(r, 0)?,
                        mailbox: get(r, 1)?,
                        status: delivery_row.known(r, 2, "status", DeliveryState::parse)?,
                        folder: get(r, 3)?,
                        external: get(r, 4)?,
                        on_hold: false,
                        read: None,
                        original_folder: None,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            // Where each copy was before anything was done: the first placement per
            // mailbox, as the SQLite store reads it (restore items carry what they undo).
            let placed_row = RowOf {
                table: "items",
                id_column: 2,
            };
            let placed: Vec<(String, Vec<crate::model::Placement>)> = tx
                .query(
                    "SELECT i.mailbox, i.placements, i.id FROM items i
                     JOIN jobs j ON j.id = i.job
                     WHERE i.message_id = $1 AND i.tenant = $2 AND j.kind IN ('retract', 'sweep')
                       AND i.placements <> '[]'
                     ORDER BY i.id",
                    &[&message.message_id, &message.tenant],
                )?
                .iter()
                .map(|r| Ok((get(r, 0)?, placed_row.json(r, 1, "placements")?)))
                .collect::<Result<Vec<_>>>()?;
            Ok((message, deliveries, placed))
        })?;
        // Holds are the caller's (config), asked outside the database call.
        for d in &mut deliveries {
            d.on_hold = !d.mailbox.is_empty() && holds(&d.mailbox);
        }
        note_first_placements(&mut deliveries, placed);
        Ok(MessageDetail {
            message,
            deliveries,
        })
    }

    fn conversation(&self, root: &LoggedMessage, max_depth: u32) -> Result<Vec<ConversationEntry>> {
        let mut seen = HashSet::from([root.message_id.clone()]);
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

    fn deliveries_of(&self, message: i64) -> Result<Vec<(String, String, bool)>> {
        self.read(|tx, _| {
            tx.query(
                "SELECT recipient, mailbox, external FROM deliveries WHERE message = $1 ORDER BY recipient",
                &[&message],
            )?
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
            .collect()
        })
    }

    fn message_count(&self) -> Result<u64> {
        self.read(|tx, _| {
            let n: i64 = get(&tx.query_one("SELECT count(*) FROM messages", &[])?, 0)?;
            Ok(n.max(0) as u64)
        })
    }

    fn set_disposition(&self, id: i64, disposition: &str) -> Result<()> {
        let disposition = disposition.to_ascii_lowercase();
        self.write(|tx, _| {
            let changed = tx.execute(
                "UPDATE messages SET disposition = $1 WHERE id = $2",
                &[&disposition, &id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("no message with log id {id}")));
            }
            Ok(())
        })
    }

    fn children(&self, parents: &[String]) -> Result<Vec<LoggedMessage>> {
        self.read(|tx, _| {
            let stmt = tx.prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM message_refs r JOIN messages m ON m.id = r.child
                 WHERE r.parent = $1 ORDER BY m.received_at, m.id"
            ))?;
            let mut out: Vec<LoggedMessage> = Vec::new();
            for parent in parents {
                for row in tx.query(&stmt, &[parent])? {
                    let child = message_from_row(&row)?;
                    if !out.iter().any(|m| m.id == child.id) {
                        out.push(child);
                    }
                }
            }
            Ok(out)
        })
    }

    fn logged_id(&self, message_id: &str, tenant: &str) -> Result<Option<i64>> {
        self.read(|tx, _| {
            tx.query_opt(
                "SELECT id FROM messages WHERE message_id = $1 AND tenant = $2",
                &[&message_id, &tenant],
            )?
            .map(|r| get(&r, 0))
            .transpose()
        })
    }

    fn search_page(
        &self,
        query: &Query,
        anchor: PageAnchor,
        limit: usize,
    ) -> Result<Vec<LoggedMessage>> {
        let (sql, args, newest_last) = search::page_sql(query, anchor, limit);
        let mut rows = self.read(|tx, _| messages_from(&search::query(tx, &sql, &args)?))?;
        if newest_last {
            rows.reverse();
        }
        Ok(rows)
    }

    fn search(&self, query: &Query, limit: usize, offset: usize) -> Result<Vec<LoggedMessage>> {
        let (sql, args) = search::search_sql(query, limit, offset);
        self.read(|tx, _| messages_from(&search::query(tx, &sql, &args)?))
    }

    fn search_count(&self, query: &Query) -> Result<u64> {
        let (sql, args) = search::count_sql(query);
        self.read(|tx, _| {
            let rows = search::query(tx, &sql, &args)?;
            let n: i64 = rows.first().map(|r| get(r, 0)).transpose()?.unwrap_or(0);
            Ok(n.max(0) as u64)
        })
    }
}

fn message_in(tx: &mut Tx<'_>, id: i64) -> Result<LoggedMessage> {
    let row = tx
        .query_opt(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1"),
            &[&id],
        )?
        .ok_or_else(|| StoreError::NotFound(format!("no message with log id {id}")))?;
    message_from_row(&row)
}

/// Insert one record; `false` when it merged into an existing entry (see the SQLite store's
/// `insert_one`, whose statements these are).
fn insert_one(tx: &mut Tx<'_>, m: &NewMessage<'_>) -> Result<bool> {
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
    let inserted = tx.query_opt(
        "INSERT INTO messages (message_id, tenant, sender, subject, recipients, received_at,
             disposition, in_reply_to, refs, size, source_id, actionable_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (message_id, tenant) DO NOTHING RETURNING id",
        &[
            &message_id,
            &m.tenant,
            &crate::model::normalize_address(&r.from),
            &r.subject,
            &recipients.join(" "),
            &r.received_at.timestamp(),
            &r.disposition.as_deref().map(str::to_ascii_lowercase),
            &in_reply_to,
            &serde_json::to_string(&refs).unwrap_or_else(|_| "[]".into()),
            &r.size.map(|s| s as i64),
            &r.source_id,
            &actionable,
        ],
    )?;
    let (id, fresh): (i64, bool) = match inserted {
        Some(row) => (get(&row, 0)?, true),
        None => {
            let row = tx.query_one(
                "SELECT id FROM messages WHERE message_id = $1 AND tenant = $2",
                &[&message_id, &m.tenant],
            )?;
            (get(&row, 0)?, false)
        }
    };
    let mut added = 0;
    let stmt = tx.prepare(
        "INSERT INTO deliveries (message, recipient, mailbox, external) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )?;
    for (recipient, external) in &m.recipients {
        let mailbox = if *external { "" } else { recipient.as_str() };
        added += tx.execute(&stmt, &[&id, recipient, &mailbox, external])?;
    }
    if fresh {
        if let Some(parent) = crate::model::direct_parent(in_reply_to.as_deref(), &refs)
            && parent != message_id
        {
            tx.execute(
                "INSERT INTO message_refs (parent, child) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&parent, &id],
            )?;
        }
    } else if added > 0 {
        // In the order SQLite's group_concat gives (its deliveries table is kept in key
        // order): by recipient, bytewise.
        tx.execute(
            "UPDATE messages SET
                recipients = (SELECT string_agg(recipient, ' ' ORDER BY recipient COLLATE \"C\") FROM deliveries WHERE message = $1),
                actionable_count = (SELECT count(*) FROM deliveries WHERE message = $1 AND NOT external)
             WHERE id = $1",
            &[&id],
        )?;
    }
    Ok(fresh)
}

/// How often [`set_delivery_state`] re-reads a delivery whose status changed under it.
const DELIVERY_RETRIES: usize = 8;

/// Record a delivery's new state and move its message's running totals: the SQLite store's
/// `set_delivery_state`, with the delivery row locked (`FOR UPDATE`) as it is read, so the
/// old state the totals move from is the one replaced.
pub(super) fn set_delivery_state(
    tx: &mut Tx<'_>,
    message: i64,
    mailbox: &str,
    state: DeliveryState,
    folder: Option<&str>,
) -> Result<()> {
    for _ in 0..DELIVERY_RETRIES {
        let old: Option<String> = tx
            .query_opt(
                "SELECT status FROM deliveries WHERE message = $1 AND mailbox = $2 FOR UPDATE",
                &[&message, &mailbox],
            )?
            .map(|r| get(&r, 0))
            .transpose()?;
        let Some(old) = old else {
            return Ok(());
        };
        if state == DeliveryState::Failed && !matches!(old.as_str(), "delivered" | "failed") {
            return Ok(());
        }
        let changed = tx.execute(
            "UPDATE deliveries SET status = $3, folder = coalesce($4, folder)
             WHERE message = $1 AND mailbox = $2 AND status = $5",
            &[&message, &mailbox, &state.as_str(), &folder, &old],
        )?;
        if changed == 0 {
            continue;
        }
        let delta = |s: DeliveryState| i64::from(state == s) - i64::from(old == s.as_str());
        tx.execute(
            "UPDATE messages SET retracted_count = retracted_count + $2,
                 restored_count = restored_count + $3, failed_count = failed_count + $4,
                 status = CASE
                     WHEN actionable_count > 0 AND retracted_count + $2 = actionable_count
                         THEN 'retracted'
                     WHEN retracted_count + $2 > 0 THEN 'partial'
                     WHEN failed_count + $4 > 0 THEN 'failed'
                     WHEN restored_count + $3 > 0 THEN 'restored'
                     ELSE 'delivered' END
             WHERE id = $1",
            &[
                &message,
                &delta(DeliveryState::Retracted),
                &delta(DeliveryState::Restored),
                &delta(DeliveryState::Failed),
            ],
        )?;
        return Ok(());
    }
    Err(StoreError::Database(format!(
        "deliveries of message {message} to {mailbox}: the state kept changing while it was \
         recorded ({DELIVERY_RETRIES} attempts)"
    )))
}
