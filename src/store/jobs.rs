//! Jobs and items: written before anything acts, claimed by workers, finished with their audit
//! record in one transaction.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::audit::{NewAudit, append};
use super::decode::RowOf;
use super::messages::set_delivery_state;
use super::{Now, Result, SqliteStore, StoreError};
use crate::model::{
    Action, DeliveryState, ItemOutcome, ItemState, Job, JobCounts, JobItem, JobKind, JobStatus,
    Placement,
};
use crate::trust::{JobTarget, SignedJob};

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
    /// Whether this attempt changed a mailbox. Such an attempt is audited even when its claim
    /// was lost, so no mailbox change goes without a record.
    pub acted: bool,
}

const JOB_COLUMNS: &str = "id, kind, action, status, initiated_by, reason, restores_job, \
     created_at, started_at, finished_at, throttle_note";

pub(super) const ITEM_COLUMNS: &str = "i.id, i.job, i.tenant, i.mailbox, i.message_id, i.depth, i.state, \
     i.outcome, i.error, i.attempts, i.restores_item, i.placements, i.planned_folder, i.on_hold, \
     i.log_message";

/// A job row (selected as [`JOB_COLUMNS`]): id first.
pub(super) const JOB_ROW: RowOf = RowOf {
    table: "jobs",
    id_column: 0,
};

/// An item row (selected as [`ITEM_COLUMNS`]): id first.
pub(super) const ITEM_ROW: RowOf = RowOf {
    table: "items",
    id_column: 0,
};

/// A stored action.
pub(super) fn parse_action(text: &str) -> Option<Action> {
    text.parse().ok()
}

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        kind: JOB_ROW.known(r, 1, "kind", JobKind::parse)?,
        action: JOB_ROW.known(r, 2, "action", parse_action)?,
        status: JOB_ROW.known(r, 3, "status", JobStatus::parse)?,
        initiated_by: r.get(4)?,
        reason: r.get(5)?,
        restores_job: r.get(6)?,
        counts: JobCounts::default(),
        created_at: JOB_ROW.millis(r, 7, "created_at")?,
        started_at: JOB_ROW.millis_or_null(r, 8, "started_at")?,
        finished_at: JOB_ROW.millis_or_null(r, 9, "finished_at")?,
        throttle_note: r.get(10)?,
    })
}

pub(super) fn item_from_row(r: &Row<'_>) -> rusqlite::Result<JobItem> {
    Ok(JobItem {
        id: r.get(0)?,
        job_id: r.get(1)?,
        tenant: r.get(2)?,
        mailbox: r.get(3)?,
        message_id: r.get(4)?,
        depth: r.get(5)?,
        log_message: r.get(14)?,
        state: ITEM_ROW.known(r, 6, "state", ItemState::parse)?,
        outcome: ITEM_ROW.known_or_null(r, 7, "outcome", ItemOutcome::parse)?,
        error: r.get(8)?,
        attempts: r.get(9)?,
        restores_item: r.get(10)?,
        placements: ITEM_ROW.json(r, 11, "placements")?,
        planned_folder: r.get(12)?,
        on_hold: r.get(13)?,
    })
}

pub(super) fn placements_json(p: &[Placement]) -> String {
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
///
/// One statement per case, each with "no item is unfinished" in its WHERE, so the decision
/// and the write see the same rows. A multi-writer database must still serialise the items of
/// one job as they finish (lock the job row, `SELECT ... FROM jobs WHERE id = ... FOR
/// UPDATE`, before finishing an item): two workers finishing the last two items at once would
/// each see the other's as unfinished, and neither would close the job.
pub(super) fn settle_job(tx: &Transaction<'_>, now: Now, job: i64) -> Result<()> {
    tx.prepare_cached(
        "UPDATE jobs SET finished_at = ?2, throttle_note = NULL,
             status = (SELECT CASE
                 WHEN count(*) FILTER (WHERE state = 'failed') = 0 THEN 'done'
                 WHEN count(*) FILTER (WHERE outcome IN ('remediated', 'already-in-destination', 'restored')) > 0
                     THEN 'partial'
                 ELSE 'failed' END
               FROM items WHERE job = ?1)
         WHERE id = ?1 AND status IN ('queued', 'running')
           AND NOT EXISTS (SELECT 1 FROM items WHERE job = ?1 AND state IN ('queued', 'claimed'))",
    )?
    .execute(params![job, now.millis()])?;
    // A cancelled job is finished once its in-flight items are.
    tx.prepare_cached(
        "UPDATE jobs SET finished_at = ?2
         WHERE id = ?1 AND status = 'cancelled' AND finished_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM items WHERE job = ?1 AND state IN ('queued', 'claimed'))",
    )?
    .execute(params![job, now.millis()])?;
    Ok(())
}

/// A job as its rows read now, in the form the service signs (see [`SignedJob`]).
fn job_as_rows_say(tx: &Transaction<'_>, id: i64) -> Result<SignedJob> {
    let (kind, action, initiated_by, restores_job): (String, String, String, Option<i64>) = tx
        .prepare_cached("SELECT kind, action, initiated_by, restores_job FROM jobs WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no job {id}")))?;
    let targets = tx
        .prepare_cached("SELECT tenant, mailbox, message_id, depth FROM items WHERE job = ?1")?
        .query_map([id], |r| {
            Ok(JobTarget {
                tenant: r.get(0)?,
                mailbox: r.get(1)?,
                message_id: r.get(2)?,
                depth: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(SignedJob::new(
        id,
        &kind,
        &action,
        &initiated_by,
        restores_job,
        targets,
    ))
}

/// What a worker needs to check a job against its signature.
#[derive(Clone, Debug)]
pub struct JobSignature {
    /// The form the service signed, as stored (`None`: the job was never signed).
    pub signed_form: Option<String>,
    pub signature: Option<String>,
    /// The job as its rows read now.
    pub current: SignedJob,
}

impl SqliteStore {
    /// A job's signed form and signature, and what its rows say today.
    pub fn job_signature(&self, id: i64) -> Result<JobSignature> {
        self.read(|tx| {
            let (signed_form, signature) = tx
                .prepare_cached("SELECT signed_form, signature FROM jobs WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("no job {id}")))?;
            Ok(JobSignature {
                signed_form,
                signature,
                current: job_as_rows_say(tx, id)?,
            })
        })
    }

    /// Write a job, its items and its audit record in one transaction; returns the job id.
    pub fn create_job(&self, job: &NewJob, items: &[NewItem]) -> Result<i64> {
        self.write(|tx, now_at| insert_job(tx, now_at, job, items))
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

    /// Stop a job, finally: every item that is not acting on a mailbox right now (queued,
    /// including those waiting to retry) ends `cancelled` in this one transaction, and nothing
    /// of the job is claimed afterwards. An item whose act is in flight finishes and is
    /// recorded; an item given back after the cancel ends `cancelled` too (see
    /// [`Store::requeue_item`]). Placements recorded by earlier attempts stay, for restore.
    pub fn cancel_job(&self, id: i64, audit: &NewAudit) -> Result<u64> {
        self.write(|tx, now| {
            // The job first, conditionally: once it reads `cancelled`, no claim takes another
            // of its items (claims check the job's status in the same statement).
            let cancelled_job: Option<i64> = tx
                .prepare_cached(
                    "UPDATE jobs SET status = 'cancelled', throttle_note = NULL
                     WHERE id = ?1 AND status IN ('queued', 'running') RETURNING id",
                )?
                .query_row([id], |r| r.get(0))
                .optional()?;
            if cancelled_job.is_none() {
                return Err(not_cancellable(tx, id)?);
            }
            let (waiting, in_flight): (i64, i64) = tx.query_row(
                "SELECT count(*) FILTER (WHERE state = 'queued' AND attempts > 0),
                        count(*) FILTER (WHERE state = 'claimed')
                 FROM items WHERE job = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let cancelled = tx.execute(
                "UPDATE items SET state = 'cancelled', outcome = 'cancelled', finished_at = ?2
                 WHERE job = ?1 AND state = 'queued'",
                params![id, now.millis()],
            )?;
            let mut audit = audit.clone();
            audit.job = Some(id);
            audit.detail = Some(format!(
                "{cancelled} queued items cancelled ({waiting} of them waiting to retry); \
                 {in_flight} in flight finish and are recorded"
            ));
            append(tx, now, &audit)?;
            settle_job(tx, now, id)?;
            Ok(cancelled as u64)
        })
    }

    /// Items of these jobs that have not finished: (job, queued, claimed), for the jobs that
    /// have any. A restore waits for them: their copies may still move.
    pub fn unfinished_items(&self, jobs: &[i64]) -> Result<Vec<(i64, u64, u64)>> {
        let list = serde_json::to_string(jobs).unwrap_or_else(|_| "[]".into());
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT job, count(*) FILTER (WHERE state = 'queued'),
                        count(*) FILTER (WHERE state = 'claimed')
                 FROM items WHERE job IN (SELECT value FROM json_each(?1))
                   AND state IN ('queued', 'claimed')
                 GROUP BY job ORDER BY job",
            )?;
            let rows = stmt.query_map([list], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Finish an item: its result, the log delivery it changes and its audit record, together.
    /// Returns `false`, writing nothing, when the claim was taken over by another worker (this
    /// one was presumed dead): the other worker's result is the one that counts.
    pub fn finish_item(&self, f: &ItemFinish) -> Result<bool> {
        self.write(|tx, now| {
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
                        now.millis()
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(job) = job else {
                if f.acted {
                    // The act reached a mailbox after the claim was taken over (this worker
                    // was presumed dead): the result is not this worker's to record, but the
                    // change it made is audited all the same.
                    let job: Option<i64> = tx
                        .query_row("SELECT job FROM items WHERE id = ?1", [f.item], |r| r.get(0))
                        .optional()?;
                    let mut audit = f.audit.clone();
                    audit.job = job;
                    audit.detail = Some(format!(
                        "{}; not recorded as the item's result: its claim had been taken over by another worker",
                        audit.detail.unwrap_or_default()
                    ));
                    append(tx, now, &audit)?;
                }
                return Ok(false);
            };
            if let Some((message, mailbox, state, folder)) = &f.delivery {
                set_delivery_state(tx, *message, mailbox, *state, folder.as_deref())?;
            }
            let mut audit = f.audit.clone();
            audit.job = Some(job);
            append(tx, now, &audit)?;
            settle_job(tx, now, job)?;
            Ok(true)
        })
    }

    /// Show what a job is waiting on (throttling, back-off); `None` clears it.
    pub fn set_throttle_note(&self, job: i64, note: Option<&str>) -> Result<()> {
        self.write(|tx, _| {
            tx.prepare_cached("UPDATE jobs SET throttle_note = ?2 WHERE id = ?1")?
                .execute(params![job, note])?;
            Ok(())
        })
    }
}

/// Why job `id` cannot be cancelled: it does not exist, it is finished already, or its status
/// is one this version does not know.
fn not_cancellable(tx: &Transaction<'_>, id: i64) -> Result<StoreError> {
    let status: Option<String> = tx
        .query_row("SELECT status FROM jobs WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    let Some(status) = status else {
        return Ok(StoreError::NotFound(format!("no job {id}")));
    };
    Ok(match JobStatus::parse(&status) {
        Some(_) => StoreError::Invalid(format!("job {id} is already {status}")),
        None => StoreError::Unreadable(Box::new(super::UnreadableValue {
            table: "jobs",
            column: "status",
            row: id,
            value: status,
        })),
    })
}

/// [`Store::create_job`] inside a transaction the caller holds, so a decision (the policy's)
/// and the job it made are written together or not at all.
pub(super) fn insert_job(
    tx: &Transaction<'_>,
    now_at: Now,
    job: &NewJob,
    items: &[NewItem],
) -> Result<i64> {
    let now = now_at.millis();
    let id: i64 = tx.prepare_cached(
            "INSERT INTO jobs (kind, action, status, initiated_by, ssh_from, reason, target, restores_job, created_at)
             VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )?
        .query_row(params![
            job.kind.as_str(),
            job.action.as_str(),
            job.initiated_by,
            job.ssh_from,
            job.reason,
            job.target,
            job.restores_job,
            now
        ], |r| r.get(0))?;
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
                Some((ItemOutcome::Failed, e)) => (
                    ItemState::Failed,
                    Some("failed"),
                    Some(e.as_str()),
                    Some(now),
                ),
                Some((o, e)) => (
                    ItemState::Done,
                    Some(o.as_str()),
                    Some(e.as_str()),
                    Some(now),
                ),
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
    if let Some(key) = now_at.1 {
        let form = job_as_rows_say(tx, id)?;
        tx.prepare_cached("UPDATE jobs SET signed_form = ?2, signature = ?3 WHERE id = ?1")?
            .execute(params![id, form.to_text(), form.sign(key)])?;
    }
    let mut audit = job.audit.clone();
    audit.job = Some(id);
    append(tx, now_at, &audit)?;
    settle_job(tx, now_at, id)?;
    Ok(id)
}
