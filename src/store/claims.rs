//! Claims: workers announce themselves, claim due items, confirm before each act that a claim
//! is still theirs, give items back, and take over what stopped workers left behind.

use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction, params};

use super::audit::{NewAudit, append};
use super::decode::{RowOf, UnreadableValue};
use super::jobs::{ITEM_COLUMNS, item_from_row, parse_action, placements_json, settle_job};
use super::{Claimed, Now, Result, SqliteStore, StoreError};
use crate::model::{FailReason, ItemOutcome, ItemState, JobKind};

/// What became of an item given back after an attempt that did not finish it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeued {
    /// Back in the queue, due again later.
    Queued,
    /// Its job was cancelled meanwhile: the item ended `cancelled` instead (audited), since a
    /// cancel is final for everything that has not reached a mailbox.
    Cancelled,
    /// The claim was no longer this worker's (taken over): nothing was written.
    NotOurs,
}

/// Worker ids are `host:pid:nonce`.
fn worker_host_pid(id: &str) -> (String, i64) {
    let mut parts = id.rsplitn(3, ':');
    let _nonce = parts.next();
    let pid = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (parts.next().unwrap_or("").to_string(), pid)
}

/// A JSON array of job ids for `json_each`, or NULL for "every job".
fn job_filter(jobs: Option<&[i64]>) -> Option<String> {
    jobs.map(|j| serde_json::to_string(j).unwrap_or_else(|_| "[]".into()))
}

/// End one waiting item of a cancelled job, with an audit record naming why: it may have
/// moved copies on an earlier attempt, and its recorded placements stay for restore.
fn cancel_waiting_item(tx: &Transaction<'_>, now: Now, item: i64, why: &str) -> Result<()> {
    end_unacted_item(
        tx,
        now,
        item,
        (ItemState::Cancelled, ItemOutcome::Cancelled),
        None,
        why,
    )
    .map(|_| ())
}

/// End an item whose stored row does not decode as failed (`internal`), audited, without
/// touching any mailbox; its placements column is left as stored, for whoever repairs it.
fn fail_unreadable_item(
    tx: &Transaction<'_>,
    now: Now,
    item: i64,
    why: &UnreadableValue,
) -> Result<()> {
    let error = format!(
        "{}: {why}; nothing was done to the copy",
        FailReason::Internal.as_str()
    );
    tracing::error!(item, "{error}");
    end_unacted_item(
        tx,
        now,
        item,
        (ItemState::Failed, ItemOutcome::Failed),
        Some(&error),
        &error,
    )
    .map(|_| ())
}

/// End a queued or claimed item that this attempt does not act on (cancelled, or failed
/// before acting), with its audit record, and settle its job. An item already
/// finished is left alone. `error` replaces the stored error when given. `false` when the item
/// was no longer waiting (finished meanwhile), so nothing was written.
fn end_unacted_item(
    tx: &Transaction<'_>,
    now: Now,
    item: i64,
    (state, outcome): (ItemState, ItemOutcome),
    error: Option<&str>,
    detail: &str,
) -> Result<bool> {
    end_item_unless_taken(tx, now, item, None, (state, outcome), error, detail)
}

/// [`end_unacted_item`], and, with a `claimant`, only while that worker holds the claim: the
/// condition is in the statement, so a claim taken over meanwhile is never ended by its old
/// holder, whatever the database's locking.
fn end_item_unless_taken(
    tx: &Transaction<'_>,
    now: Now,
    item: i64,
    claimant: Option<&str>,
    (state, outcome): (ItemState, ItemOutcome),
    error: Option<&str>,
    detail: &str,
) -> Result<bool> {
    let row: Option<(i64, String, String, String, String, Option<String>)> = tx
        .prepare_cached(
            "UPDATE items SET state = ?5, outcome = ?3, error = coalesce(?4, error),
                 claimed_by = NULL, finished_at = ?2
             WHERE id = ?1 AND state IN ('queued', 'claimed')
               AND (?6 IS NULL OR (state = 'claimed' AND claimed_by = ?6))
             RETURNING job, mailbox, message_id,
                 (SELECT action FROM jobs WHERE id = items.job),
                 (SELECT initiated_by FROM jobs WHERE id = items.job),
                 (SELECT reason FROM jobs WHERE id = items.job)",
        )?
        .query_row(
            params![
                item,
                now.millis(),
                outcome.as_str(),
                error,
                state.as_str(),
                claimant
            ],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((job, mailbox, message_id, action, initiated_by, reason)) = row else {
        return Ok(false);
    };
    append(
        tx,
        now,
        &NewAudit {
            actor: initiated_by,
            ssh_from: None,
            role: "engine".into(),
            action,
            target: format!("{mailbox} {message_id}"),
            reason,
            outcome: outcome.as_str().into(),
            job: Some(job),
            detail: Some(detail.to_string()),
        },
    )?;
    settle_job(tx, now, job)?;
    Ok(true)
}

/// Give back every claim of a worker that is gone: to the queue, or, for a cancelled job, to
/// `cancelled`. Returns how many items went back to the queue or were cancelled.
fn release_claims_of(tx: &Transaction<'_>, now: Now, worker: &str) -> Result<usize> {
    let cancelled: Vec<i64> = tx
        .prepare_cached(
            "SELECT i.id FROM items i JOIN jobs j ON j.id = i.job
             WHERE i.state = 'claimed' AND i.claimed_by = ?1 AND j.status = 'cancelled'",
        )?
        .query_map([worker], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for item in &cancelled {
        cancel_waiting_item(
            tx,
            now,
            *item,
            "cancelled: its job was cancelled while the worker holding it had stopped",
        )?;
    }
    let requeued = tx
        .prepare_cached(
            "UPDATE items SET state = 'queued', claimed_by = NULL
             WHERE state = 'claimed' AND claimed_by = ?1",
        )?
        .execute([worker])?;
    Ok(requeued + cancelled.len())
}

impl SqliteStore {
    /// Announce a worker (its claims are taken over if it dies).
    pub fn register_worker(&self, id: &str, host: &str, pid: u32) -> Result<()> {
        self.write(|tx, now| {
            tx.execute(
                "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                     started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                params![id, host, pid, now.millis()],
            )?;
            Ok(())
        })
    }

    /// Renew a worker's lease. `true` when its row was still there, so every claim it holds
    /// is still its own; `false` when it had been presumed dead meanwhile (its claims were
    /// given back) and has been announced again.
    pub fn heartbeat(&self, id: &str) -> Result<bool> {
        self.write(|tx, now| {
            let n = tx.execute(
                "UPDATE workers SET heartbeat_at = ?2 WHERE id = ?1",
                params![id, now.millis()],
            )?;
            if n == 0 {
                // Presumed dead while paused (Ctrl-Z, a stalled disk): its old claims were
                // taken over, and its finished results will be dropped. Announce it again so
                // its new claims are not taken over too. Another announcement racing this one
                // is harmless: the row ends up there either way.
                let (host, pid) = worker_host_pid(id);
                tx.execute(
                    "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?4)
                     ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                    params![id, host, pid, now.millis()],
                )?;
            }
            Ok(n == 1)
        })
    }

    /// Forget a worker that stops cleanly.
    pub fn unregister_worker(&self, id: &str) -> Result<()> {
        self.write(|tx, _| {
            tx.execute("DELETE FROM workers WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// Workers whose heartbeat is more recent than `within_ms`.
    pub fn live_workers(&self, within_ms: i64) -> Result<u64> {
        let since = self.now().millis() - within_ms;
        self.read(|tx| {
            let n: i64 = tx.query_row(
                "SELECT count(*) FROM workers WHERE heartbeat_at >= ?1",
                [since],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }

    /// Forget the workers that are gone (heartbeat older than the lease, or `is_dead` says
    /// the process on this host no longer runs) and give back the items they claimed: to the
    /// queue, or to `cancelled` when their job was cancelled. Their recorded placements stay,
    /// so the next attempt knows what was moved. Jobs they owned become abandoned, for
    /// [`Store::adopt_abandoned`]. Returns the items given back.
    pub fn reclaim_orphans(
        &self,
        lease_ms: i64,
        is_dead: &dyn Fn(&str, i64) -> bool,
    ) -> Result<u64> {
        self.write(|tx, now| {
            let workers: Vec<(String, String, i64)> = tx
                .prepare_cached("SELECT id, host, pid FROM workers")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let stale_before = now.millis() - lease_ms;
            let mut gone: Vec<String> = Vec::new();
            for (id, host, pid) in workers {
                // The lease is judged in the DELETE itself: a worker whose heartbeat landed
                // after the list above was read keeps its row and its claims.
                let dead_process = is_dead(&host, pid);
                let forgotten = tx
                    .prepare_cached(
                        "DELETE FROM workers WHERE id = ?1 AND (heartbeat_at < ?2 OR ?3) RETURNING id",
                    )?
                    .query_row(params![id, stale_before, dead_process], |r| r.get::<_, String>(0))
                    .optional()?;
                gone.extend(forgotten);
            }
            // Claims by workers whose row is already gone.
            let unannounced: Vec<String> = tx
                .prepare_cached(
                    "SELECT DISTINCT claimed_by FROM items
                     WHERE state = 'claimed' AND claimed_by NOT IN (SELECT id FROM workers)",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            gone.extend(unannounced);
            let mut reclaimed = 0;
            for worker in gone {
                reclaimed += release_claims_of(tx, now, &worker)?;
            }
            Ok(reclaimed as u64)
        })
    }

    /// Claim up to `limit` due items (of these jobs, or of any) for `worker`. Items of a
    /// cancelled job are never claimed. A job whose items a worker claims and that no live
    /// engine owns becomes this worker's.
    pub fn claim_items(
        &self,
        worker: &str,
        limit: usize,
        jobs: Option<&[i64]>,
    ) -> Result<Vec<Claimed>> {
        let jobs = job_filter(jobs);
        self.write(|tx, now| {
            let now_ms = now.millis();
            // `INDEXED BY`: left to itself the planner picks `items_claimable (state,
            // not_before)` and sorts every queued item on each claim, which made a
            // 10,000-item job quadratic; `(state, job, id)` yields them already in order and
            // stops at the limit.
            let ids: Vec<i64> = tx
                .prepare_cached(
                    "UPDATE items SET state = 'claimed', claimed_by = ?1, claimed_at = ?2, attempts = attempts + 1
                     WHERE id IN (SELECT i.id FROM items i INDEXED BY items_claim_order
                                  JOIN jobs j ON j.id = i.job
                                  WHERE i.state = 'queued' AND i.not_before <= ?2
                                    AND j.status IN ('queued', 'running')
                                    AND (?3 IS NULL OR i.job IN (SELECT value FROM json_each(?3)))
                                  ORDER BY i.job, i.id LIMIT ?4)
                     RETURNING id",
                )?
                .query_map(params![worker, now_ms, jobs, limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(ids.len());
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS}, j.kind, j.action, j.initiated_by, j.reason
                 FROM items i JOIN jobs j ON j.id = i.job WHERE i.id = ?1"
            ))?;
            // The job's columns of the joined row; the job id is the item's column 1.
            let job_row = RowOf {
                table: "jobs",
                id_column: 1,
            };
            for id in ids {
                let read = stmt.query_row([id], |r| {
                    Ok(Claimed {
                        item: item_from_row(r)?,
                        worker: worker.to_string(),
                        kind: job_row.known(r, 15, "kind", JobKind::parse)?,
                        action: job_row.known(r, 16, "action", parse_action)?,
                        initiated_by: r.get(17)?,
                        reason: r.get(18)?,
                    })
                });
                let claimed = match read.map_err(StoreError::from) {
                    Ok(claimed) => claimed,
                    // Acting on a guessed value would be an act nobody asked for: this item
                    // stops here, the others go on.
                    Err(StoreError::Unreadable(why)) => {
                        fail_unreadable_item(tx, now, id, &why)?;
                        continue;
                    }
                    Err(other) => return Err(other),
                };
                tx.prepare_cached(
                    "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?2)
                     WHERE id = ?1 AND status = 'queued'",
                )?
                .execute(params![claimed.item.job_id, now_ms])?;
                tx.prepare_cached(
                    "UPDATE jobs SET owner = ?2
                     WHERE id = ?1 AND (owner IS NULL OR owner NOT IN (SELECT id FROM workers))",
                )?
                .execute(params![claimed.item.job_id, worker])?;
                out.push(claimed);
            }
            Ok(out)
        })
    }

    /// The fence before an act: whether `worker` still holds the claim on `item` and its lease,
    /// as the store sees it (heartbeat within `lease_ms`), has not run out. A worker paused
    /// past its lease finds here that its items were taken over.
    pub fn claim_holds(&self, item: i64, worker: &str, lease_ms: i64) -> Result<bool> {
        let since = self.now().millis() - lease_ms;
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM items i JOIN workers w ON w.id = i.claimed_by
                     WHERE i.id = ?1 AND i.state = 'claimed' AND i.claimed_by = ?2
                       AND w.heartbeat_at >= ?3)",
                )?
                .query_row(params![item, worker, since], |r| r.get(0))?)
        })
    }

    /// Record where the copies are before acting on them, so a crash mid-act loses nothing.
    /// `false` when the claim is no longer this worker's (it was taken over): stop there.
    pub fn record_placements(
        &self,
        item: i64,
        worker: &str,
        placements: &[crate::model::Placement],
    ) -> Result<bool> {
        self.write(|tx, _| {
            let n = tx
                .prepare_cached(
                    "UPDATE items SET placements = ?3 WHERE id = ?1 AND state = 'claimed' AND claimed_by = ?2",
                )?
                .execute(params![item, worker, placements_json(placements)])?;
            Ok(n == 1)
        })
    }

    /// Give a claimed item back to the queue, due again `retry_in` from now (by the store's
    /// clock), only while `worker` still holds the claim. An item of a job cancelled
    /// meanwhile ends `cancelled`.
    pub fn requeue_item(
        &self,
        item: i64,
        worker: &str,
        retry_in: Duration,
        error: &str,
    ) -> Result<Requeued> {
        self.write(|tx, now| {
            // Each branch is one statement whose WHERE holds both conditions (the claim is
            // ours, the job's state), so no read decides a later write. A multi-writer
            // database must also lock the job row (`SELECT ... FROM jobs WHERE id = ...
            // FOR SHARE`) here and `FOR UPDATE` in `cancel_job`, or a cancel committing
            // between the two could leave this item queued in a cancelled job.
            let requeued = tx
                .prepare_cached(
                    "UPDATE items SET state = 'queued', claimed_by = NULL, not_before = ?3, error = ?4
                     WHERE id = ?1 AND state = 'claimed' AND claimed_by = ?2
                       AND job IN (SELECT id FROM jobs WHERE status <> 'cancelled')",
                )?
                .execute(params![item, worker, now.millis_after(retry_in), error])?;
            if requeued == 1 {
                return Ok(Requeued::Queued);
            }
            let cancelled = end_item_unless_taken(
                tx,
                now,
                item,
                Some(worker),
                (ItemState::Cancelled, ItemOutcome::Cancelled),
                Some(error),
                &format!("cancelled instead of retried ({error}): its job was cancelled"),
            )?;
            Ok(if cancelled {
                Requeued::Cancelled
            } else {
                Requeued::NotOurs
            })
        })
    }

    /// Make `worker` the owner of a job it is about to run (a console's or `--wait`'s own job).
    pub fn own_job(&self, job: i64, worker: &str) -> Result<()> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "UPDATE jobs SET owner = ?2 WHERE id = ?1 AND status IN ('queued', 'running')",
            )?
            .execute(params![job, worker])?;
            Ok(())
        })
    }

    /// Take over the unfinished jobs that an engine had taken on and that no live engine owns
    /// any more (its process gone, its lease expired: see [`Store::reclaim_orphans`]), so a job
    /// is never left `running` for ever. Jobs queued for any engine (never owned) are left to
    /// `retractor worker`. Returns the jobs now owned by `worker`.
    pub fn adopt_abandoned(&self, worker: &str) -> Result<Vec<i64>> {
        self.write(|tx, _| {
            Ok(tx
                .prepare_cached(
                    "UPDATE jobs SET owner = ?1
                     WHERE status IN ('queued', 'running')
                       AND ((owner IS NOT NULL AND owner <> ?1
                             AND owner NOT IN (SELECT id FROM workers))
                            OR (owner IS NULL AND status = 'running'))
                       AND EXISTS (SELECT 1 FROM items
                                   WHERE job = jobs.id AND state IN ('queued', 'claimed'))
                     RETURNING id",
                )?
                .query_map([worker], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The unfinished jobs [`Store::adopt_abandoned`] would take over, without taking them
    /// (run [`Store::reclaim_orphans`] first, so stopped workers are forgotten).
    pub fn abandoned_jobs(&self) -> Result<Vec<i64>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT id FROM jobs
                     WHERE status IN ('queued', 'running')
                       AND ((owner IS NOT NULL AND owner NOT IN (SELECT id FROM workers))
                            OR (owner IS NULL AND status = 'running'))
                       AND EXISTS (SELECT 1 FROM items
                                   WHERE job = jobs.id AND state IN ('queued', 'claimed'))
                     ORDER BY id",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Items not yet finished (of these jobs, or of any): (queued, claimed, how long until
    /// the earliest queued one is due, zero when one is due now), by the store's clock.
    pub fn pending(&self, jobs: Option<&[i64]>) -> Result<(u64, u64, Option<Duration>)> {
        let jobs = job_filter(jobs);
        let now = self.now().millis();
        self.read(|tx| {
            Ok(tx.prepare_cached(
                "SELECT count(*) FILTER (WHERE i.state = 'queued'), count(*) FILTER (WHERE i.state = 'claimed'),
                        min(i.not_before) FILTER (WHERE i.state = 'queued')
                 FROM items i JOIN jobs j ON j.id = i.job
                 WHERE i.state IN ('queued', 'claimed') AND j.status IN ('queued', 'running', 'cancelled')
                   AND (?1 IS NULL OR i.job IN (SELECT value FROM json_each(?1)))",
            )?
            .query_row([jobs], |r| {
                let due_in = r
                    .get::<_, Option<i64>>(2)?
                    .map(|due| Duration::from_millis(due.saturating_sub(now).max(0) as u64));
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, due_in))
            })?)
        })
    }
}
