//! Jobs and items: written before anything acts, claimed by workers, finished with their audit
//! record in one transaction.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::audit::{NewAudit, append};
use super::messages::set_delivery_state;
use super::{Result, Store, StoreError, from_millis, now_millis};
use crate::model::{
    Action, DeliveryState, ItemOutcome, ItemState, Job, JobCounts, JobItem, JobKind, JobStatus,
    Placement,
};

/// A job to create, with the audit record of its request.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: JobKind,
    pub action: Action,
    pub initiated_by: String,
    pub ssh_from: Option<String>,
    pub reason: Option<String>,
    /// What the job is about, for lists: a Message-ID, sweep criteria, a job id.
    pub target: String,
    pub restores_job: Option<i64>,
    pub audit: NewAudit,
}

/// One item to create.
#[derive(Clone, Debug, Default)]
pub struct NewItem {
    pub tenant: String,
    pub mailbox: String,
    pub message_id: String,
    pub depth: u32,
    pub log_message: Option<i64>,
    pub planned_folder: Option<String>,
    pub on_hold: bool,
    pub restores_item: Option<i64>,
    pub placements: Vec<Placement>,
    /// Decided at planning time (an external recipient): the item is created finished.
    pub settled: Option<(ItemOutcome, String)>,
}

/// An item a worker claimed, with what it needs from its job.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub item: JobItem,
    /// The worker holding the claim: every later write checks it still does.
    pub worker: String,
    pub kind: JobKind,
    pub action: Action,
    pub initiated_by: String,
    pub reason: Option<String>,
}

/// How an item ended, with everything that changes with it.
#[derive(Clone, Debug)]
pub struct ItemFinish {
    pub item: i64,
    /// The claim's holder; a result from a worker whose claim was taken over is dropped.
    pub worker: String,
    pub state: ItemState,
    pub outcome: ItemOutcome,
    pub error: Option<String>,
    pub placements: Vec<Placement>,
    /// The log delivery this result changes: (message, mailbox, new state, folder now).
    pub delivery: Option<(i64, String, DeliveryState, Option<String>)>,
    pub audit: NewAudit,
}

const JOB_COLUMNS: &str = "id, kind, action, status, initiated_by, reason, restores_job, \
     created_at, started_at, finished_at, throttle_note";

const ITEM_COLUMNS: &str = "i.id, i.job, i.tenant, i.mailbox, i.message_id, i.depth, i.state, \
     i.outcome, i.error, i.attempts, i.restores_item, i.placements, i.planned_folder, i.on_hold, \
     i.log_message";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let kind: String = r.get(1)?;
    let action: String = r.get(2)?;
    let status: String = r.get(3)?;
    Ok(Job {
        id: r.get(0)?,
        kind: JobKind::parse(&kind).unwrap_or(JobKind::Retract),
        action: action.parse().unwrap_or(Action::MoveToJunk),
        status: JobStatus::parse(&status).unwrap_or(JobStatus::Queued),
        initiated_by: r.get(4)?,
        reason: r.get(5)?,
        restores_job: r.get(6)?,
        counts: JobCounts::default(),
        created_at: from_millis(r.get(7)?),
        started_at: r.get::<_, Option<i64>>(8)?.map(from_millis),
        finished_at: r.get::<_, Option<i64>>(9)?.map(from_millis),
        throttle_note: r.get(10)?,
    })
}

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<JobItem> {
    let state: String = r.get(6)?;
    let outcome: Option<String> = r.get(7)?;
    let placements: String = r.get(11)?;
    Ok(JobItem {
        id: r.get(0)?,
        job_id: r.get(1)?,
        tenant: r.get(2)?,
        mailbox: r.get(3)?,
        message_id: r.get(4)?,
        depth: r.get(5)?,
        log_message: r.get(14)?,
        state: ItemState::parse(&state).unwrap_or(ItemState::Queued),
        outcome: outcome.as_deref().and_then(ItemOutcome::parse),
        error: r.get(8)?,
        attempts: r.get(9)?,
        restores_item: r.get(10)?,
        placements: serde_json::from_str(&placements).unwrap_or_default(),
        planned_folder: r.get(12)?,
        on_hold: r.get(13)?,
    })
}

/// Worker ids are `host:pid:nonce`.
fn worker_host_pid(id: &str) -> (String, i64) {
    let mut parts = id.rsplitn(3, ':');
    let _nonce = parts.next();
    let pid = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (parts.next().unwrap_or("").to_string(), pid)
}

fn placements_json(p: &[Placement]) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "[]".into())
}

fn counts(tx: &Transaction<'_>, job: i64) -> Result<JobCounts> {
    Ok(tx
        .prepare_cached(
            "SELECT count(*),
                count(*) FILTER (WHERE outcome IN ('remediated', 'already-in-destination', 'restored')),
                count(*) FILTER (WHERE state = 'failed'),
                count(*) FILTER (WHERE outcome IN ('not-found', 'not-actionable', 'cancelled')),
                count(*) FILTER (WHERE state = 'queued'),
                count(*) FILTER (WHERE state = 'claimed')
             FROM items WHERE job = ?1",
        )?
        .query_row([job], |r| {
            Ok(JobCounts {
                matched: r.get::<_, i64>(0)? as u64,
                remediated: r.get::<_, i64>(1)? as u64,
                failed: r.get::<_, i64>(2)? as u64,
                skipped: r.get::<_, i64>(3)? as u64,
                queued: r.get::<_, i64>(4)? as u64,
                claimed: r.get::<_, i64>(5)? as u64,
            })
        })?)
}

/// Close the job when its last item is finished: done, partial or failed by its counts.
fn settle_job(tx: &Transaction<'_>, job: i64) -> Result<()> {
    let unfinished: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM items WHERE job = ?1 AND state IN ('queued', 'claimed'))",
        )?
        .query_row([job], |r| r.get(0))?;
    if unfinished {
        return Ok(());
    }
    let c = counts(tx, job)?;
    if c.queued > 0 || c.claimed > 0 {
        return Ok(());
    }
    let status = if c.failed == 0 {
        JobStatus::Done
    } else if c.remediated > 0 {
        JobStatus::Partial
    } else {
        JobStatus::Failed
    };
    tx.prepare_cached(
        "UPDATE jobs SET status = ?2, finished_at = ?3, throttle_note = NULL
         WHERE id = ?1 AND status IN ('queued', 'running')",
    )?
    .execute(params![job, status.as_str(), now_millis()])?;
    // A cancelled job is finished once its in-flight items are.
    tx.prepare_cached(
        "UPDATE jobs SET finished_at = ?2 WHERE id = ?1 AND status = 'cancelled' AND finished_at IS NULL",
    )?
    .execute(params![job, now_millis()])?;
    Ok(())
}

impl Store {
    /// Write a job, its items and its audit record in one transaction; returns the job id.
    pub fn create_job(&self, job: &NewJob, items: &[NewItem]) -> Result<i64> {
        self.write(|tx| {
            let now = now_millis();
            tx.prepare_cached(
                "INSERT INTO jobs (kind, action, status, initiated_by, ssh_from, reason, target, restores_job, created_at)
                 VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                job.kind.as_str(),
                job.action.as_str(),
                job.initiated_by,
                job.ssh_from,
                job.reason,
                job.target,
                job.restores_job,
                now
            ])?;
            let id = tx.last_insert_rowid();
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO items (job, tenant, mailbox, message_id, depth, log_message, state, outcome,
                         error, planned_folder, on_hold, restores_item, placements, finished_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )?;
                for it in items {
                    let (state, outcome, error, finished) = match &it.settled {
                        // A failure known at planning time (a mailbox a sweep could not
                        // search) counts as failed, so the job ends partial.
                        Some((ItemOutcome::Failed, e)) => (ItemState::Failed, Some("failed"), Some(e.as_str()), Some(now)),
                        Some((o, e)) => (ItemState::Done, Some(o.as_str()), Some(e.as_str()), Some(now)),
                        None => (ItemState::Queued, None, None, None),
                    };
                    stmt.execute(params![
                        id,
                        it.tenant,
                        it.mailbox,
                        it.message_id,
                        it.depth,
                        it.log_message,
                        state.as_str(),
                        outcome,
                        error,
                        it.planned_folder,
                        it.on_hold,
                        it.restores_item,
                        placements_json(&it.placements),
                        finished
                    ])?;
                }
            }
            let mut audit = job.audit.clone();
            audit.job = Some(id);
            append(tx, &audit)?;
            settle_job(tx, id)?;
            Ok(id)
        })
    }

    /// Jobs, newest first, with their counts.
    pub fn jobs(&self, limit: usize) -> Result<Vec<Job>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT ?1"
            ))?;
            let mut jobs = stmt
                .query_map([limit as i64], job_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for j in &mut jobs {
                j.counts = counts(tx, j.id)?;
            }
            Ok(jobs)
        })
    }

    /// One job with its counts.
    pub fn job(&self, id: i64) -> Result<Job> {
        self.read(|tx| {
            let mut job = tx
                .query_row(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                    [id],
                    job_from_row,
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("no job {id}")))?;
            job.counts = counts(tx, id)?;
            Ok(job)
        })
    }

    /// A job's items in creation order.
    pub fn job_items(&self, job: i64) -> Result<Vec<JobItem>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM items i WHERE i.job = ?1 ORDER BY i.id"
            ))?;
            let rows = stmt.query_map([job], item_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Items of retract and sweep jobs that moved a copy of `message_id` and that no later
    /// restore has put back: what `restore REF` can undo.
    pub fn restorable_items(
        &self,
        message_id: Option<&str>,
        job: Option<i64>,
    ) -> Result<Vec<JobItem>> {
        // Failed and cancelled items count too: they may have moved some copies before they
        // stopped. Hard-delete jobs never do: hard-delete has no undo, even for held copies.
        let (by, value) = match (message_id, job) {
            (_, Some(job)) => ("i.job = ?1", rusqlite::types::Value::Integer(job)),
            (Some(m), None) => (
                "i.message_id = ?1",
                rusqlite::types::Value::Text(m.to_string()),
            ),
            (None, None) => return Ok(Vec::new()),
        };
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items i JOIN jobs j ON j.id = i.job
             WHERE {by} AND i.state IN ('done', 'failed', 'cancelled')
               AND j.kind IN ('retract', 'sweep') AND j.action <> 'hard-delete'
               AND NOT EXISTS (SELECT 1 FROM items r WHERE r.restores_item = i.id
                               AND (r.state IN ('queued', 'claimed')
                                    OR r.outcome IN ('restored', 'already-in-destination')))
             ORDER BY i.id"
        );
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt.query_map([value], item_from_row)?;
            Ok(rows
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter(|i| i.placements.iter().any(|p| p.to.is_some()))
                .collect())
        })
    }

    /// Retract jobs whose root message was `message_id` in `tenant` (sweeps have no root: a
    /// sweep's other matches are not this message's copies).
    pub fn jobs_rooted_at(&self, message_id: &str, tenant: &str) -> Result<Vec<i64>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT DISTINCT i.job FROM items i JOIN jobs j ON j.id = i.job
                 WHERE j.kind = 'retract' AND j.target = ?1
                   AND i.message_id = ?1 AND i.depth = 0 AND i.tenant = ?2
                 ORDER BY i.job",
            )?;
            let rows = stmt.query_map([message_id, tenant], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Provider ids of the copies of `message_id` that items have recorded as moved into
    /// `mailbox` (the quarantine mailbox).
    pub fn recorded_destinations(
        &self,
        mailbox: &str,
        message_id: &str,
    ) -> Result<std::collections::HashSet<String>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT json_extract(p.value, '$.to.provider_id') FROM items i, json_each(i.placements) p
                 WHERE i.message_id = ?1 AND json_extract(p.value, '$.to_mailbox') = ?2
                   AND json_extract(p.value, '$.to.provider_id') IS NOT NULL",
            )?;
            let rows = stmt.query_map([message_id, mailbox], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Stop a job: items not yet started end `cancelled`; started ones (claimed, or waiting to
    /// retry) finish what they began, so no moved copy goes unrecorded.
    pub fn cancel_job(&self, id: i64, audit: &NewAudit) -> Result<u64> {
        self.write(|tx| {
            let status: Option<String> = tx
                .query_row("SELECT status FROM jobs WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let status = status.ok_or_else(|| StoreError::NotFound(format!("no job {id}")))?;
            if JobStatus::parse(&status).is_some_and(JobStatus::is_finished) {
                return Err(StoreError::Invalid(format!("job {id} is already {status}")));
            }
            let now = now_millis();
            let cancelled = tx.execute(
                "UPDATE items SET state = 'cancelled', outcome = 'cancelled', finished_at = ?2
                 WHERE job = ?1 AND state = 'queued' AND attempts = 0",
                params![id, now],
            )?;
            tx.execute(
                "UPDATE jobs SET status = 'cancelled', throttle_note = NULL WHERE id = ?1",
                [id],
            )?;
            let mut audit = audit.clone();
            audit.job = Some(id);
            audit.detail = Some(format!("{cancelled} queued items cancelled"));
            append(tx, &audit)?;
            settle_job(tx, id)?;
            Ok(cancelled as u64)
        })
    }

    /// Announce a worker (its claims are taken over if it dies).
    pub fn register_worker(&self, id: &str, host: &str, pid: u32) -> Result<()> {
        self.write(|tx| {
            let now = now_millis();
            tx.execute(
                "INSERT OR REPLACE INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![id, host, pid, now],
            )?;
            Ok(())
        })
    }

    pub fn heartbeat(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE workers SET heartbeat_at = ?2 WHERE id = ?1",
                params![id, now_millis()],
            )?;
            if n == 0 {
                // Presumed dead while paused (Ctrl-Z, a stalled disk): its old claims were
                // taken over, and its finished results will be dropped. Announce it again so
                // its new claims are not taken over too.
                let (host, pid) = worker_host_pid(id);
                tx.execute(
                    "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![id, host, pid, now_millis()],
                )?;
            }
            Ok(())
        })
    }

    pub fn unregister_worker(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM workers WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// Workers whose heartbeat is more recent than `within_ms`.
    pub fn live_workers(&self, within_ms: i64) -> Result<u64> {
        self.read(|tx| {
            let n: i64 = tx.query_row(
                "SELECT count(*) FROM workers WHERE heartbeat_at >= ?1",
                [now_millis() - within_ms],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }

    /// Put back in the queue the items claimed by workers that are gone: those whose heartbeat
    /// is older than the lease, or that `is_dead` (same host, process no longer running) says
    /// are dead. Their recorded placements stay, so the next attempt knows what was moved.
    pub fn reclaim_orphans(
        &self,
        lease_ms: i64,
        is_dead: &dyn Fn(&str, i64) -> bool,
    ) -> Result<u64> {
        self.write(|tx| {
            // (worker id, host, pid, last heartbeat); host/pid/heartbeat are absent when the
            // worker row itself is gone.
            type Claimant = (String, Option<String>, Option<i64>, Option<i64>);
            let claimants: Vec<Claimant> = tx
                .prepare(
                    "SELECT DISTINCT i.claimed_by, w.host, w.pid, w.heartbeat_at FROM items i
                     LEFT JOIN workers w ON w.id = i.claimed_by WHERE i.state = 'claimed'",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let now = now_millis();
            let mut reclaimed = 0;
            for (worker, host, pid, heartbeat) in claimants {
                let gone = match (host, pid, heartbeat) {
                    (Some(host), Some(pid), Some(hb)) => now - hb > lease_ms || is_dead(&host, pid),
                    _ => true,
                };
                if gone {
                    reclaimed += tx.execute(
                        "UPDATE items SET state = 'queued', claimed_by = NULL WHERE state = 'claimed' AND claimed_by = ?1",
                        [&worker],
                    )?;
                    tx.execute("DELETE FROM workers WHERE id = ?1", [&worker])?;
                }
            }
            Ok(reclaimed as u64)
        })
    }

    /// Claim up to `limit` due items (of one job, or of any) for `worker`.
    pub fn claim_items(
        &self,
        worker: &str,
        limit: usize,
        job: Option<i64>,
    ) -> Result<Vec<Claimed>> {
        self.write(|tx| {
            let now = now_millis();
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
                                    AND (j.status IN ('queued', 'running')
                                         OR (j.status = 'cancelled' AND i.attempts > 0))
                                    AND (?3 IS NULL OR i.job = ?3)
                                  ORDER BY i.job, i.id LIMIT ?4)
                     RETURNING id",
                )?
                .query_map(params![worker, now, job, limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(ids.len());
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS}, j.kind, j.action, j.initiated_by, j.reason
                 FROM items i JOIN jobs j ON j.id = i.job WHERE i.id = ?1"
            ))?;
            for id in ids {
                let claimed = stmt.query_row([id], |r| {
                    let kind: String = r.get(15)?;
                    let action: String = r.get(16)?;
                    Ok(Claimed {
                        item: item_from_row(r)?,
                        worker: worker.to_string(),
                        kind: JobKind::parse(&kind).unwrap_or(JobKind::Retract),
                        action: action.parse().unwrap_or(Action::MoveToJunk),
                        initiated_by: r.get(17)?,
                        reason: r.get(18)?,
                    })
                })?;
                tx.prepare_cached(
                    "UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?2)
                     WHERE id = ?1 AND status = 'queued'",
                )?
                .execute(params![claimed.item.job_id, now])?;
                out.push(claimed);
            }
            Ok(out)
        })
    }

    /// Record where the copies are before acting on them, so a crash mid-act loses nothing.
    /// `false` when the claim is no longer this worker's (it was taken over): stop there.
    pub fn record_placements(
        &self,
        item: i64,
        worker: &str,
        placements: &[Placement],
    ) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE items SET placements = ?3 WHERE id = ?1 AND state = 'claimed' AND claimed_by = ?2",
                )?
                .execute(params![item, worker, placements_json(placements)])?;
            Ok(n == 1)
        })
    }

    /// Give a claimed item back to the queue, due again at `not_before` (unix ms).
    /// Only while `worker` still holds the claim; `false` otherwise.
    pub fn requeue_item(
        &self,
        item: i64,
        worker: &str,
        not_before: i64,
        error: &str,
    ) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE items SET state = 'queued', claimed_by = NULL, not_before = ?3, error = ?4
                     WHERE id = ?1 AND state = 'claimed' AND claimed_by = ?2",
                )?
                .execute(params![item, worker, not_before, error])?;
            Ok(n == 1)
        })
    }

    /// Finish an item: its result, the log delivery it changes and its audit record, together.
    /// Returns `false`, writing nothing, when the claim was taken over by another worker (this
    /// one was presumed dead): the other worker's result is the one that counts.
    pub fn finish_item(&self, f: &ItemFinish) -> Result<bool> {
        self.write(|tx| {
            let job: Option<i64> = tx
                .prepare_cached(
                    "UPDATE items SET state = ?3, outcome = ?4, error = ?5, placements = ?6, finished_at = ?7,
                         claimed_by = NULL
                     WHERE id = ?1 AND state = 'claimed' AND claimed_by = ?2 RETURNING job",
                )?
                .query_row(
                    params![
                        f.item,
                        f.worker,
                        f.state.as_str(),
                        f.outcome.as_str(),
                        f.error,
                        placements_json(&f.placements),
                        now_millis()
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(job) = job else {
                return Ok(false);
            };
            if let Some((message, mailbox, state, folder)) = &f.delivery {
                set_delivery_state(tx, *message, mailbox, *state, folder.as_deref())?;
            }
            let mut audit = f.audit.clone();
            audit.job = Some(job);
            append(tx, &audit)?;
            settle_job(tx, job)?;
            Ok(true)
        })
    }

    /// Show what a job is waiting on (throttling, back-off); `None` clears it.
    pub fn set_throttle_note(&self, job: i64, note: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE jobs SET throttle_note = ?2 WHERE id = ?1")?
                .execute(params![job, note])?;
            Ok(())
        })
    }

    /// Items not yet finished (of one job, or of any): (queued, claimed, earliest due time).
    pub fn pending(&self, job: Option<i64>) -> Result<(u64, u64, Option<i64>)> {
        self.read(|tx| {
            Ok(tx.prepare_cached(
                "SELECT count(*) FILTER (WHERE i.state = 'queued'), count(*) FILTER (WHERE i.state = 'claimed'),
                        min(i.not_before) FILTER (WHERE i.state = 'queued')
                 FROM items i JOIN jobs j ON j.id = i.job
                 WHERE i.state IN ('queued', 'claimed') AND j.status IN ('queued', 'running', 'cancelled')
                   AND (?1 IS NULL OR i.job = ?1)",
            )?
            .query_row([job], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get(2)?))
            })?)
        })
    }
}
