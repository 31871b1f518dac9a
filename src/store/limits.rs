//! Limits kept in the store, so that every engine on it keeps them together: the services of
//! several jump hosts on one PostgreSQL (team mode) must not send one mailbox more requests
//! at once than its server allows (Graph: 4 per mailbox, not 4 per host), must all wait out
//! a server's `Retry-After` for a mailbox, and must all stop a tenant whose credentials were
//! refused instead of each locking the account out with more attempts.
//!
//! - A **mailbox turn**: one worker at a time works on a mailbox whose server limits its
//!   requests, and that worker's own per-mailbox gate keeps it within the limit, so all the
//!   hosts together do too. A worker's several items in one mailbox share its turn; it is
//!   given back when the last of them ends, and goes with the worker's row when the worker
//!   stops or is presumed dead. (Why a turn and not a count of requests: a request is
//!   gated inside the backend, which knows nothing of the store, and one item may send
//!   several at once, a Graph `$batch`.)
//! - A **hold** is the time before which no turn at the mailbox is given.
//! - A **breaker** is opened by a refused login and stops the items of every job created
//!   before it opened, on every host; a job created afterwards tries once more (the secret may
//!   have been fixed meanwhile) and opens it again if it was not.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use super::{Result, SqliteStore};

/// What asking for a turn at a mailbox came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxTurn {
    /// The asking worker's turn (it may already have had it).
    Granted,
    /// Another worker's turn: ask again shortly.
    Busy {
        /// The worker whose turn it is.
        worker: String,
    },
    /// The mailbox's server asked for quiet: ask again after this long.
    Held(Duration),
}

impl MailboxTurn {
    /// The answer from a mailbox's hold (its end in store milliseconds) and the worker whose
    /// turn it is after the asker's insert (which did nothing if another had it), at `now`.
    pub(super) fn judge(held_until: Option<i64>, holder: String, asker: &str, now: i64) -> Self {
        if let Some(until) = held_until.filter(|&until| until > now) {
            return MailboxTurn::Held(Duration::from_millis(
                u64::try_from(until - now).unwrap_or(0),
            ));
        }
        if holder == asker {
            MailboxTurn::Granted
        } else {
            MailboxTurn::Busy { worker: holder }
        }
    }
}

/// The store's milliseconds of a duration (saturating).
pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Take the turn at `mailbox` of `tenant` for `worker` (a registered one), unless another
    /// worker has it or the mailbox is held.
    pub fn take_mailbox_turn(
        &self,
        worker: &str,
        tenant: &str,
        mailbox: &str,
    ) -> Result<MailboxTurn> {
        self.write(|tx, now| {
            let held: Option<i64> = tx
                .prepare_cached(
                    "SELECT held_until FROM mailbox_holds WHERE tenant = ?1 AND mailbox = ?2",
                )?
                .query_row(params![tenant, mailbox], |r| r.get(0))
                .optional()?;
            if held.is_some_and(|until| until > now.millis()) {
                return Ok(MailboxTurn::judge(
                    held,
                    String::new(),
                    worker,
                    now.millis(),
                ));
            }
            let holder: String = tx
                .prepare_cached(
                    "INSERT INTO mailbox_turns (tenant, mailbox, worker, taken_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (tenant, mailbox) DO UPDATE SET worker = mailbox_turns.worker
                     RETURNING worker",
                )?
                .query_row(params![tenant, mailbox, worker, now.millis()], |r| r.get(0))?;
            Ok(MailboxTurn::judge(None, holder, worker, now.millis()))
        })
    }

    /// `worker` is done at `mailbox` for now; a turn that is not its own is left alone.
    pub fn end_mailbox_turn(&self, worker: &str, tenant: &str, mailbox: &str) -> Result<()> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "DELETE FROM mailbox_turns WHERE tenant = ?1 AND mailbox = ?2 AND worker = ?3",
            )?
            .execute(params![tenant, mailbox, worker])?;
            Ok(())
        })
    }

    /// The mailbox's server throttled it: give no turn at it for `wait`. A hold is only ever
    /// extended, never shortened by a later, smaller one.
    pub fn hold_mailbox(&self, tenant: &str, mailbox: &str, wait: Duration) -> Result<()> {
        self.write(|tx, now| {
            tx.prepare_cached(
                "INSERT INTO mailbox_holds (tenant, mailbox, held_until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant, mailbox)
                 DO UPDATE SET held_until = max(held_until, excluded.held_until)",
            )?
            .execute(params![
                tenant,
                mailbox,
                now.millis().saturating_add(millis(wait))
            ])?;
            Ok(())
        })
    }

    /// Open `tenant`'s credentials breaker now, saying why.
    pub fn open_breaker(&self, tenant: &str, reason: &str) -> Result<()> {
        self.write(|tx, now| {
            tx.prepare_cached(
                "INSERT INTO tenant_breakers (tenant, reason, opened_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant) DO UPDATE SET reason = excluded.reason,
                     opened_at = excluded.opened_at",
            )?
            .execute(params![tenant, reason, now.millis()])?;
            Ok(())
        })
    }

    /// Why `tenant`'s breaker stops the items of `job`: it opened at or after the job was
    /// created. `None` when it is shut, or opened before the job.
    pub fn breaker_for_job(&self, tenant: &str, job: i64) -> Result<Option<String>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT b.reason FROM tenant_breakers b JOIN jobs j ON j.id = ?2
                     WHERE b.tenant = ?1 AND b.opened_at >= j.created_at",
                )?
                .query_row(params![tenant, job], |r| r.get(0))
                .optional()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MailboxTurn;
    use std::time::Duration;

    #[test]
    fn a_hold_wins_over_a_free_turn_and_another_workers_turn_is_busy() {
        assert_eq!(
            MailboxTurn::judge(Some(1_500), "me".into(), "me", 1_000),
            MailboxTurn::Held(Duration::from_millis(500))
        );
        assert_eq!(
            MailboxTurn::judge(Some(1_000), "me".into(), "me", 1_000),
            MailboxTurn::Granted
        );
        assert_eq!(
            MailboxTurn::judge(None, "other".into(), "me", 1_000),
            MailboxTurn::Busy {
                worker: "other".into()
            }
        );
    }
}
