//! Limits kept together by every engine on the store, on PostgreSQL: the SQLite store's rules
//! (`store/limits.rs`). A turn is one row per mailbox, so two hosts asking at once are
//! settled by its primary key: the second upsert waits for the first to commit, then finds
//! the row and returns whose turn it is.

use std::time::Duration;

use super::PgStore;
use super::decode::get;
use crate::store::limits::{MailboxTurn, millis};
use crate::store::{Result, SharedLimits};

impl SharedLimits for PgStore {
    fn take_mailbox_turn(&self, worker: &str, tenant: &str, mailbox: &str) -> Result<MailboxTurn> {
        self.write(|tx, now| {
            let held: Option<i64> = tx
                .query_opt(
                    "SELECT held_until FROM mailbox_holds WHERE tenant = $1 AND mailbox = $2",
                    &[&tenant, &mailbox],
                )?
                .map(|r| get(&r, 0))
                .transpose()?;
            if held.is_some_and(|until| until > now.millis()) {
                return Ok(MailboxTurn::judge(
                    held,
                    String::new(),
                    worker,
                    now.millis(),
                ));
            }
            // The no-op update locks the row and returns whose turn it is in one statement:
            // a separate read could find the row gone, ended meanwhile by its worker.
            let holder: String = get(
                &tx.query_one(
                    "INSERT INTO mailbox_turns (tenant, mailbox, worker, taken_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (tenant, mailbox) DO UPDATE SET worker = mailbox_turns.worker
                     RETURNING worker",
                    &[&tenant, &mailbox, &worker, &now.millis()],
                )?,
                0,
            )?;
            Ok(MailboxTurn::judge(None, holder, worker, now.millis()))
        })
    }

    fn end_mailbox_turn(&self, worker: &str, tenant: &str, mailbox: &str) -> Result<()> {
        self.write(|tx, _| {
            tx.execute(
                "DELETE FROM mailbox_turns WHERE tenant = $1 AND mailbox = $2 AND worker = $3",
                &[&tenant, &mailbox, &worker],
            )?;
            Ok(())
        })
    }

    fn hold_mailbox(&self, tenant: &str, mailbox: &str, wait: Duration) -> Result<()> {
        self.write(|tx, now| {
            tx.execute(
                "INSERT INTO mailbox_holds (tenant, mailbox, held_until) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, mailbox)
                 DO UPDATE SET held_until = greatest(mailbox_holds.held_until, excluded.held_until)",
                &[
                    &tenant,
                    &mailbox,
                    &now.millis().saturating_add(millis(wait)),
                ],
            )?;
            Ok(())
        })
    }

    fn open_breaker(&self, tenant: &str, reason: &str) -> Result<()> {
        self.write(|tx, now| {
            tx.execute(
                "INSERT INTO tenant_breakers (tenant, reason, opened_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant) DO UPDATE SET reason = excluded.reason,
                     opened_at = excluded.opened_at",
                &[&tenant, &reason, &now.millis()],
            )?;
            Ok(())
        })
    }

    fn breaker_for_job(&self, tenant: &str, job: i64) -> Result<Option<String>> {
        self.read(|tx, _| {
            tx.query_opt(
                "SELECT b.reason FROM tenant_breakers b JOIN jobs j ON j.id = $2
                 WHERE b.tenant = $1 AND b.opened_at >= j.created_at",
                &[&tenant, &job],
            )?
            .map(|r| get(&r, 0))
            .transpose()
        })
    }
}
