//! Workers and claims on PostgreSQL: the SQLite store's rules (`store/claims.rs`), with the
//! locks several writers need. A claim picks its items `FOR UPDATE SKIP LOCKED`, so workers
//! on several hosts claiming at once each take different items without waiting on one
//! another; lease times are the database's (see [`super::PgStore`]).

use std::time::Duration;

use super::statements::Tx;

use super::PgStore;
use super::audit::append;
use super::decode::{RowOf, get};
use super::jobs::{
    ITEM_COLUMNS, item_from_row, lock_job, parse_action, placements_json, settle_job,
};
use crate::model::{FailReason, ItemOutcome, ItemState, JobKind};
use crate::store::clock::Now;
use crate::store::{Claimed, ItemClaims, NewAudit, Requeued, Result, StoreError, UnreadableValue};

/// Worker ids are `host:pid:nonce`.
fn worker_host_pid(id: &str) -> (String, i64) {
    let mut parts = id.rsplitn(3, ':');
    let _nonce = parts.next();
    let pid = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (parts.next().unwrap_or("").to_string(), pid)
}

/// End a queued or claimed item without acting (and, with a `claimant`, only while that
/// worker holds the claim), with its audit record, and settle its job. `false` when the item
/// was no longer waiting, so nothing was written.
fn end_item_unless_taken(
    tx: &mut Tx<'_>,
    now: Now,
    item: i64,
    claimant: Option<&str>,
    (state, outcome): (ItemState, ItemOutcome),
    error: Option<&str>,
    detail: &str,
) -> Result<bool> {
    let job: Option<i64> = tx
        .query_opt("SELECT job FROM items WHERE id = $1", &[&item])?
        .map(|r| get(&r, 0))
        .transpose()?;
    if let Some(job) = job {
        lock_job(tx, job)?;
    }
    let row = tx.query_opt(
        "UPDATE items SET state = $5, outcome = $3, error = coalesce($4, error),
             claimed_by = NULL, finished_at = $2
         WHERE id = $1 AND state IN ('queued', 'claimed')
           AND ($6::text IS NULL OR (state = 'claimed' AND claimed_by = $6))
         RETURNING job, mailbox, message_id,
             (SELECT action FROM jobs WHERE id = items.job),
             (SELECT initiated_by FROM jobs WHERE id = items.job),
             (SELECT reason FROM jobs WHERE id = items.job)",
        &[
            &item,
            &now.millis(),
            &outcome.as_str(),
            &error,
            &state.as_str(),
            &claimant,
        ],
    )?;
    let Some(row) = row else {
        return Ok(false);
    };
    let job: i64 = get(&row, 0)?;
    let mailbox: String = get(&row, 1)?;
    let message_id: String = get(&row, 2)?;
    append(
        tx,
        now,
        &NewAudit {
            actor: get(&row, 4)?,
            ssh_from: None,
            role: "engine".into(),
            action: get(&row, 3)?,
            target: format!("{mailbox} {message_id}"),
            reason: get(&row, 5)?,
            outcome: outcome.as_str().into(),
            job: Some(job),
            detail: Some(detail.to_string()),
        },
    )?;
    settle_job(tx, now, job)?;
    Ok(true)
}

/// End an item whose stored row does not decode as failed (`internal`), audited.
fn fail_unreadable_item(tx: &mut Tx<'_>, now: Now, item: i64, why: &UnreadableValue) -> Result<()> {
    let error = format!(
        "{}: {why}; nothing was done to the copy",
        FailReason::Internal.as_str()
    );
    tracing::error!(item, "{error}");
    end_item_unless_taken(
        tx,
        now,
        item,
        None,
        (ItemState::Failed, ItemOutcome::Failed),
        Some(&error),
        &error,
    )
    .map(|_| ())
}

/// Give back every claim of a worker that is gone (see the SQLite store's
/// `release_claims_of`).
fn release_claims_of(tx: &mut Tx<'_>, now: Now, worker: &str) -> Result<u64> {
    let cancelled: Vec<i64> = tx
        .query(
            "SELECT i.id FROM items i JOIN jobs j ON j.id = i.job
             WHERE i.state = 'claimed' AND i.claimed_by = $1 AND j.status = 'cancelled'",
            &[&worker],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect::<Result<_>>()?;
    for item in &cancelled {
        end_item_unless_taken(
            tx,
            now,
            *item,
            None,
            (ItemState::Cancelled, ItemOutcome::Cancelled),
            None,
            "cancelled: its job was cancelled while the worker holding it had stopped",
        )?;
    }
    let requeued = tx.execute(
        "UPDATE items SET state = 'queued', claimed_by = NULL
         WHERE state = 'claimed' AND claimed_by = $1",
        &[&worker],
    )?;
    Ok(requeued + cancelled.len() as u64)
}

impl ItemClaims for PgStore {
    fn register_worker(&self, id: &str, host: &str, pid: u32) -> Result<()> {
        self.write(|tx, now| {
            tx.execute(
                "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
                     started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                &[&id, &host, &i64::from(pid), &now.millis()],
            )?;
            Ok(())
        })
    }

    fn heartbeat(&self, id: &str) -> Result<bool> {
        self.write(|tx, now| {
            let n = tx.execute(
                "UPDATE workers SET heartbeat_at = $2 WHERE id = $1",
                &[&id, &now.millis()],
            )?;
            if n == 0 {
                // Presumed dead meanwhile: announced again (see the SQLite store).
                let (host, pid) = worker_host_pid(id);
                tx.execute(
                    "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $4)
                     ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                    &[&id, &host, &pid, &now.millis()],
                )?;
            }
            Ok(n == 1)
        })
    }

    fn unregister_worker(&self, id: &str) -> Result<()> {
        self.write(|tx, _| {
            tx.execute("DELETE FROM workers WHERE id = $1", &[&id])?;
            Ok(())
        })
    }

    fn live_workers(&self, within_ms: i64) -> Result<u64> {
        self.read(|tx, at| {
            let since = at.timestamp_millis() - within_ms;
            let r = tx.query_one(
                "SELECT count(*) FROM workers WHERE heartbeat_at >= $1",
                &[&since],
            )?;
            Ok(get::<i64>(&r, 0)?.max(0) as u64)
        })
    }

    fn reclaim_orphans(&self, lease_ms: i64, is_dead: &dyn Fn(&str, i64) -> bool) -> Result<u64> {
        // Whether each worker's process is gone is asked first, outside the transaction
        // (`is_dead` looks at this host's processes); the lease is still judged in the
        // DELETE, so a worker whose heartbeat lands meanwhile keeps its row and its claims.
        let workers: Vec<(String, bool)> = self
            .read(|tx, _| {
                tx.query("SELECT id, host, pid FROM workers", &[])?
                    .iter()
                    .map(|r| {
                        Ok((
                            get::<String>(r, 0)?,
                            get::<String>(r, 1)?,
                            get::<i64>(r, 2)?,
                        ))
                    })
                    .collect::<Result<Vec<_>>>()
            })?
            .into_iter()
            .map(|(id, host, pid)| {
                let dead = is_dead(&host, pid);
                (id, dead)
            })
            .collect();
        self.write(move |tx, now| {
            let stale_before = now.millis() - lease_ms;
            let mut gone: Vec<String> = Vec::new();
            for (id, dead_process) in &workers {
                let forgotten = tx.query_opt(
                    "DELETE FROM workers WHERE id = $1 AND (heartbeat_at < $2 OR $3) RETURNING id",
                    &[id, &stale_before, dead_process],
                )?;
                if let Some(row) = forgotten {
                    gone.push(get(&row, 0)?);
                }
            }
            let unannounced: Vec<String> = tx
                .query(
                    "SELECT DISTINCT claimed_by FROM items
                     WHERE state = 'claimed' AND claimed_by NOT IN (SELECT id FROM workers)",
                    &[],
                )?
                .iter()
                .map(|r| get(r, 0))
                .collect::<Result<_>>()?;
            for worker in unannounced {
                if !gone.contains(&worker) {
                    gone.push(worker);
                }
            }
            let mut reclaimed = 0;
            for worker in gone {
                reclaimed += release_claims_of(tx, now, &worker)?;
            }
            Ok(reclaimed)
        })
    }

    fn claim_items(
        &self,
        worker: &str,
        limit: usize,
        jobs: Option<&[i64]>,
    ) -> Result<Vec<Claimed>> {
        let jobs: Option<Vec<i64>> = jobs.map(<[i64]>::to_vec);
        let limit = limit.min(i64::MAX as usize) as i64;
        self.write(move |tx, now| {
            let now_ms = now.millis();
            // SKIP LOCKED: items another worker is claiming right now are passed over, not
            // waited for. `FOR UPDATE OF i` locks the items only; the job's status is read
            // as committed, and a cancel holding the job row is seen once it commits.
            let ids: Vec<i64> = tx
                .query(
                    "UPDATE items SET state = 'claimed', claimed_by = $1, claimed_at = $2, attempts = attempts + 1
                     WHERE id IN (SELECT i.id FROM items i JOIN jobs j ON j.id = i.job
                                  WHERE i.state = 'queued' AND i.not_before <= $2
                                    AND j.status IN ('queued', 'running')
                                    AND ($3::bigint[] IS NULL OR i.job = ANY($3))
                                  ORDER BY i.job, i.id LIMIT $4
                                  FOR UPDATE OF i SKIP LOCKED)
                     RETURNING id",
                    &[&worker, &now_ms, &jobs, &limit],
                )?
                .iter()
                .map(|r| get(r, 0))
                .collect::<Result<_>>()?;
            let mut ids = ids;
            ids.sort_unstable();
            let stmt = tx.prepare(&format!(
                "SELECT {ITEM_COLUMNS}, j.kind, j.action, j.initiated_by, j.reason
                 FROM items i JOIN jobs j ON j.id = i.job WHERE i.id = $1"
            ))?;
            let job_row = RowOf {
                table: "jobs",
                id_column: 1,
            };
            let mut out = Vec::with_capacity(ids.len());
            let mut started: Vec<i64> = Vec::new();
            for id in ids {
                let row = tx.query_one(&stmt, &[&id])?;
                let read = (|| {
                    Ok::<_, StoreError>(Claimed {
                        item: item_from_row(&row)?,
                        worker: worker.to_string(),
                        kind: job_row.known(&row, 15, "kind", JobKind::parse)?,
                        action: job_row.known(&row, 16, "action", parse_action)?,
                        initiated_by: get(&row, 17)?,
                        reason: get(&row, 18)?,
                    })
                })();
                let claimed = match read {
                    Ok(claimed) => claimed,
                    Err(StoreError::Unreadable(why)) => {
                        fail_unreadable_item(tx, now, id, &why)?;
                        continue;
                    }
                    Err(other) => return Err(other),
                };
                let job = claimed.item.job_id;
                if !started.contains(&job) {
                    started.push(job);
                    tx.execute(
                        "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, $2)
                         WHERE id = $1 AND status = 'queued'",
                        &[&job, &now_ms],
                    )?;
                    tx.execute(
                        "UPDATE jobs SET owner = $2
                         WHERE id = $1 AND (owner IS NULL OR owner NOT IN (SELECT id FROM workers))",
                        &[&job, &worker],
                    )?;
                    tx.progressed(job, false);
                }
                out.push(claimed);
            }
            Ok(out)
        })
    }

    fn claim_holds(&self, item: i64, worker: &str, lease_ms: i64) -> Result<bool> {
        self.read(|tx, at| {
            let since = at.timestamp_millis() - lease_ms;
            let r = tx.query_one(
                "SELECT EXISTS (SELECT 1 FROM items i JOIN workers w ON w.id = i.claimed_by
                 WHERE i.id = $1 AND i.state = 'claimed' AND i.claimed_by = $2
                   AND w.heartbeat_at >= $3)",
                &[&item, &worker, &since],
            )?;
            get(&r, 0)
        })
    }

    fn record_placements(
        &self,
        item: i64,
        worker: &str,
        placements: &[crate::model::Placement],
    ) -> Result<bool> {
        self.write(|tx, _| {
            let n = tx.execute(
                "UPDATE items SET placements = $3 WHERE id = $1 AND state = 'claimed' AND claimed_by = $2",
                &[&item, &worker, &placements_json(placements)],
            )?;
            Ok(n == 1)
        })
    }

    fn requeue_item(
        &self,
        item: i64,
        worker: &str,
        retry_in: Duration,
        error: &str,
    ) -> Result<Requeued> {
        self.write(|tx, now| {
            // The job's row is locked first, so a cancel is either committed before this
            // (and seen) or waits for it (and cancels the item requeued here).
            let job: Option<i64> = tx
                .query_opt("SELECT job FROM items WHERE id = $1", &[&item])?
                .map(|r| get(&r, 0))
                .transpose()?;
            if let Some(job) = job {
                lock_job(tx, job)?;
            }
            let requeued = tx.execute(
                "UPDATE items SET state = 'queued', claimed_by = NULL, not_before = $3, error = $4
                 WHERE id = $1 AND state = 'claimed' AND claimed_by = $2
                   AND job IN (SELECT id FROM jobs WHERE status <> 'cancelled')",
                &[&item, &worker, &now.millis_after(retry_in), &error],
            )?;
            if requeued == 1 {
                if let Some(job) = job {
                    tx.progressed(job, false);
                }
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

    fn own_job(&self, job: i64, worker: &str) -> Result<()> {
        self.write(|tx, _| {
            tx.execute(
                "UPDATE jobs SET owner = $2 WHERE id = $1 AND status IN ('queued', 'running')",
                &[&job, &worker],
            )?;
            Ok(())
        })
    }

    fn adopt_abandoned(&self, worker: &str) -> Result<Vec<i64>> {
        self.write(|tx, _| {
            tx.query(
                "UPDATE jobs SET owner = $1
                 WHERE status IN ('queued', 'running')
                   AND ((owner IS NOT NULL AND owner <> $1
                         AND owner NOT IN (SELECT id FROM workers))
                        OR (owner IS NULL AND status = 'running'))
                   AND EXISTS (SELECT 1 FROM items
                               WHERE job = jobs.id AND state IN ('queued', 'claimed'))
                 RETURNING id",
                &[&worker],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect()
        })
    }

    fn abandoned_jobs(&self) -> Result<Vec<i64>> {
        self.read(|tx, _| {
            tx.query(
                "SELECT id FROM jobs
                 WHERE status IN ('queued', 'running')
                   AND ((owner IS NOT NULL AND owner NOT IN (SELECT id FROM workers))
                        OR (owner IS NULL AND status = 'running'))
                   AND EXISTS (SELECT 1 FROM items
                               WHERE job = jobs.id AND state IN ('queued', 'claimed'))
                 ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect()
        })
    }

    fn pending(&self, jobs: Option<&[i64]>) -> Result<(u64, u64, Option<Duration>)> {
        let jobs: Option<Vec<i64>> = jobs.map(<[i64]>::to_vec);
        self.read(move |tx, at| {
            let now = at.timestamp_millis();
            let r = tx.query_one(
                "SELECT count(*) FILTER (WHERE i.state = 'queued'), count(*) FILTER (WHERE i.state = 'claimed'),
                        min(i.not_before) FILTER (WHERE i.state = 'queued')
                 FROM items i JOIN jobs j ON j.id = i.job
                 WHERE i.state IN ('queued', 'claimed') AND j.status IN ('queued', 'running', 'cancelled')
                   AND ($1::bigint[] IS NULL OR i.job = ANY($1))",
                &[&jobs],
            )?;
            let due_in = get::<Option<i64>>(&r, 2)?
                .map(|due| Duration::from_millis(due.saturating_sub(now).max(0) as u64));
            Ok((
                get::<i64>(&r, 0)?.max(0) as u64,
                get::<i64>(&r, 1)?.max(0) as u64,
                due_in,
            ))
        })
    }
}
