//! Jobs, items and evidence on PostgreSQL: the SQLite store's statements, with the job row
//! locked where its comments say a multi-writer database must (finishing an item, giving one
//! back, cancelling), so the last two items of a job finishing at once still close it.

use std::collections::HashSet;

use postgres::Row;

use super::statements::Tx;
use sha2::{Digest, Sha256};

use super::PgStore;
use super::audit::append;
use super::decode::{RowOf, get, narrow};
use super::messages::set_delivery_state;
use crate::model::{
    Action, ItemOutcome, ItemState, Job, JobCounts, JobItem, JobKind, JobStatus, Placement,
};
use crate::store::clock::Now;
use crate::store::{
    EvidenceRecord, EvidenceStore, ItemFinish, JobQueue, JobSignature, NewAudit, NewItem, NewJob,
    Result, StoreError, UnreadableValue,
};
use crate::trust::{JobTarget, SignedJob};

const JOB_COLUMNS: &str = "id, kind, action, status, initiated_by, reason, restores_job, \
     created_at, started_at, finished_at, throttle_note";

pub(super) const ITEM_COLUMNS: &str = "i.id, i.job, i.tenant, i.mailbox, i.message_id, i.depth, i.state, \
     i.outcome, i.error, i.attempts, i.restores_item, i.placements, i.planned_folder, i.on_hold, \
     i.log_message";

const JOB_ROW: RowOf = RowOf {
    table: "jobs",
    id_column: 0,
};

const ITEM_ROW: RowOf = RowOf {
    table: "items",
    id_column: 0,
};

pub(super) fn parse_action(text: &str) -> Option<Action> {
    text.parse().ok()
}

fn job_from_row(r: &Row) -> Result<Job> {
    Ok(Job {
        id: get(r, 0)?,
        kind: JOB_ROW.known(r, 1, "kind", JobKind::parse)?,
        action: JOB_ROW.known(r, 2, "action", parse_action)?,
        status: JOB_ROW.known(r, 3, "status", JobStatus::parse)?,
        initiated_by: get(r, 4)?,
        reason: get(r, 5)?,
        restores_job: get(r, 6)?,
        counts: JobCounts::default(),
        created_at: JOB_ROW.millis(r, 7, "created_at")?,
        started_at: JOB_ROW.millis_or_null(r, 8, "started_at")?,
        finished_at: JOB_ROW.millis_or_null(r, 9, "finished_at")?,
        throttle_note: get(r, 10)?,
    })
}

/// An item row selected as [`ITEM_COLUMNS`].
pub(super) fn item_from_row(r: &Row) -> Result<JobItem> {
    Ok(JobItem {
        id: get(r, 0)?,
        job_id: get(r, 1)?,
        tenant: get(r, 2)?,
        mailbox: get(r, 3)?,
        message_id: get(r, 4)?,
        depth: narrow(r, ITEM_ROW, 5, "depth")?,
        log_message: get(r, 14)?,
        state: ITEM_ROW.known(r, 6, "state", ItemState::parse)?,
        outcome: ITEM_ROW.known_or_null(r, 7, "outcome", ItemOutcome::parse)?,
        error: get(r, 8)?,
        attempts: narrow(r, ITEM_ROW, 9, "attempts")?,
        restores_item: get(r, 10)?,
        placements: ITEM_ROW.json(r, 11, "placements")?,
        planned_folder: get(r, 12)?,
        on_hold: get(r, 13)?,
    })
}

pub(super) fn placements_json(p: &[Placement]) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "[]".into())
}

fn count(r: &Row, index: usize) -> Result<u64> {
    Ok(get::<i64>(r, index)?.max(0) as u64)
}

fn counts(tx: &mut Tx<'_>, job: i64) -> Result<JobCounts> {
    let r = tx.query_one(
        "SELECT count(*),
            count(*) FILTER (WHERE outcome IN ('remediated', 'already-in-destination', 'restored')),
            count(*) FILTER (WHERE state = 'failed'),
            count(*) FILTER (WHERE outcome IN ('not-found', 'not-actionable', 'cancelled')),
            count(*) FILTER (WHERE state = 'queued'),
            count(*) FILTER (WHERE state = 'claimed')
         FROM items WHERE job = $1",
        &[&job],
    )?;
    Ok(JobCounts {
        matched: count(&r, 0)?,
        remediated: count(&r, 1)?,
        failed: count(&r, 2)?,
        skipped: count(&r, 3)?,
        queued: count(&r, 4)?,
        claimed: count(&r, 5)?,
    })
}

/// Lock job `id`'s row until the transaction ends (its items' changes are serialised).
pub(super) fn lock_job(tx: &mut Tx<'_>, id: i64) -> Result<()> {
    tx.execute("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", &[&id])?;
    Ok(())
}

/// Close the job when its last item is finished (the SQLite store's `settle_job`). The
/// callers hold the job's row lock, so the count and the write see every item's last state.
pub(super) fn settle_job(tx: &mut Tx<'_>, now: Now, job: i64) -> Result<()> {
    let at = now.millis();
    let settled = tx.execute(
        "UPDATE jobs SET finished_at = $2, throttle_note = NULL,
             status = (SELECT CASE
                 WHEN count(*) FILTER (WHERE state = 'failed') = 0 THEN 'done'
                 WHEN count(*) FILTER (WHERE outcome IN ('remediated', 'already-in-destination', 'restored')) > 0
                     THEN 'partial'
                 ELSE 'failed' END
               FROM items WHERE job = $1)
         WHERE id = $1 AND status IN ('queued', 'running')
           AND NOT EXISTS (SELECT 1 FROM items WHERE job = $1 AND state IN ('queued', 'claimed'))",
        &[&job, &at],
    )?;
    let cancelled = tx.execute(
        "UPDATE jobs SET finished_at = $2
         WHERE id = $1 AND status = 'cancelled' AND finished_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM items WHERE job = $1 AND state IN ('queued', 'claimed'))",
        &[&job, &at],
    )?;
    // Every path that changes an item's state settles its job: one place to tell it.
    tx.progressed(job, settled + cancelled > 0);
    Ok(())
}

fn job_as_rows_say(tx: &mut Tx<'_>, id: i64) -> Result<SignedJob> {
    let row = tx
        .query_opt(
            "SELECT kind, action, initiated_by, restores_job FROM jobs WHERE id = $1",
            &[&id],
        )?
        .ok_or_else(|| StoreError::NotFound(format!("no job {id}")))?;
    let (kind, action, initiated_by, restores_job): (String, String, String, Option<i64>) =
        (get(&row, 0)?, get(&row, 1)?, get(&row, 2)?, get(&row, 3)?);
    let targets = tx
        .query(
            "SELECT tenant, mailbox, message_id, depth, id FROM items WHERE job = $1",
            &[&id],
        )?
        .iter()
        .map(|r| {
            Ok(JobTarget {
                tenant: get(r, 0)?,
                mailbox: get(r, 1)?,
                message_id: get(r, 2)?,
                depth: narrow(
                    r,
                    RowOf {
                        table: "items",
                        id_column: 4,
                    },
                    3,
                    "depth",
                )?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SignedJob::new(
        id,
        &kind,
        &action,
        &initiated_by,
        restores_job,
        targets,
    ))
}

/// Why job `id` cannot be cancelled (see the SQLite store's `not_cancellable`).
fn not_cancellable(tx: &mut Tx<'_>, id: i64) -> Result<StoreError> {
    let status: Option<String> = tx
        .query_opt("SELECT status FROM jobs WHERE id = $1", &[&id])?
        .map(|r| get(&r, 0))
        .transpose()?;
    let Some(status) = status else {
        return Ok(StoreError::NotFound(format!("no job {id}")));
    };
    Ok(match JobStatus::parse(&status) {
        Some(_) => StoreError::Invalid(format!("job {id} is already {status}")),
        None => StoreError::Unreadable(Box::new(UnreadableValue {
            table: "jobs",
            column: "status",
            row: id,
            value: status,
        })),
    })
}

impl PgStore {
    /// A job's signed form and signature, and what its rows say today.
    pub fn job_signature(&self, id: i64) -> Result<JobSignature> {
        self.read(|tx, _| {
            let row = tx
                .query_opt(
                    "SELECT signed_form, signature FROM jobs WHERE id = $1",
                    &[&id],
                )?
                .ok_or_else(|| StoreError::NotFound(format!("no job {id}")))?;
            Ok(JobSignature {
                signed_form: get(&row, 0)?,
                signature: get(&row, 1)?,
                current: job_as_rows_say(tx, id)?,
            })
        })
    }
}

/// Write a job, its items and its audit record inside the caller's transaction (a
/// decision's, an approval's); its id. The SQLite store's `insert_job`.
pub(super) fn insert_job(
    tx: &mut Tx<'_>,
    now_at: Now,
    job: &NewJob,
    items: &[NewItem],
) -> Result<i64> {
    let now = now_at.millis();
    let row = tx.query_one(
        "INSERT INTO jobs (kind, action, status, initiated_by, ssh_from, reason, target, restores_job, created_at)
         VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8) RETURNING id",
        &[
            &job.kind.as_str(),
            &job.action.as_str(),
            &job.initiated_by,
            &job.ssh_from,
            &job.reason,
            &job.target,
            &job.restores_job,
            &now,
        ],
    )?;
    let id: i64 = get(&row, 0)?;
    let stmt = tx.prepare(
        "INSERT INTO items (job, tenant, mailbox, message_id, depth, log_message, state, outcome,
             error, planned_folder, on_hold, restores_item, placements, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )?;
    for it in items {
        let (state, outcome, error, finished) = match &it.settled {
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
        tx.execute(
            &stmt,
            &[
                &id,
                &it.tenant,
                &it.mailbox,
                &it.message_id,
                &i64::from(it.depth),
                &it.log_message,
                &state.as_str(),
                &outcome,
                &error,
                &it.planned_folder,
                &it.on_hold,
                &it.restores_item,
                &placements_json(&it.placements),
                &finished,
            ],
        )?;
    }
    if let Some(key) = now_at.1 {
        let form = job_as_rows_say(tx, id)?;
        tx.execute(
            "UPDATE jobs SET signed_form = $2, signature = $3 WHERE id = $1",
            &[&id, &form.to_text(), &form.sign(key)],
        )?;
    }
    let mut audit = job.audit.clone();
    audit.job = Some(id);
    append(tx, now_at, &audit)?;
    settle_job(tx, now_at, id)?;
    // Delivered at commit to every host's LISTEN session: their idle workers claim at once.
    tx.execute("SELECT pg_notify($1, '')", &[&super::listen::WORK_CHANNEL])?;
    Ok(id)
}

impl JobQueue for PgStore {
    fn job_signature(&self, id: i64) -> Result<JobSignature> {
        PgStore::job_signature(self, id)
    }

    fn create_job(&self, job: &NewJob, items: &[NewItem]) -> Result<i64> {
        self.write(|tx, now_at| insert_job(tx, now_at, job, items))
    }

    fn jobs(&self, limit: usize) -> Result<Vec<Job>> {
        let limit = limit.min(i64::MAX as usize) as i64;
        self.read(|tx, _| {
            let rows = tx.query(
                &format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT $1"),
                &[&limit],
            )?;
            let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
            for j in &mut jobs {
                j.counts = counts(tx, j.id)?;
            }
            Ok(jobs)
        })
    }

    fn job(&self, id: i64) -> Result<Job> {
        self.read(|tx, _| {
            let row = tx
                .query_opt(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                    &[&id],
                )?
                .ok_or_else(|| StoreError::NotFound(format!("no job {id}")))?;
            let mut job = job_from_row(&row)?;
            job.counts = counts(tx, id)?;
            Ok(job)
        })
    }

    fn job_items(&self, job: i64) -> Result<Vec<JobItem>> {
        self.read(|tx, _| {
            tx.query(
                &format!("SELECT {ITEM_COLUMNS} FROM items i WHERE i.job = $1 ORDER BY i.id"),
                &[&job],
            )?
            .iter()
            .map(item_from_row)
            .collect()
        })
    }

    fn restorable_items(&self, message_id: Option<&str>, job: Option<i64>) -> Result<Vec<JobItem>> {
        if message_id.is_none() && job.is_none() {
            return Ok(Vec::new());
        }
        // The job when given, else the Message-ID (as the SQLite store chooses).
        let by_message = if job.is_some() { None } else { message_id };
        self.read(|tx, _| {
            let rows = tx.query(
                &format!(
                    "SELECT {ITEM_COLUMNS} FROM items i JOIN jobs j ON j.id = i.job
                     WHERE ($1::bigint IS NULL OR i.job = $1) AND ($2::text IS NULL OR i.message_id = $2)
                       AND i.state IN ('done', 'failed', 'cancelled')
                       AND j.kind IN ('retract', 'sweep') AND j.action <> 'hard-delete'
                       AND NOT EXISTS (SELECT 1 FROM items r WHERE r.restores_item = i.id
                                       AND (r.state IN ('queued', 'claimed')
                                            OR r.outcome IN ('restored', 'already-in-destination')))
                     ORDER BY i.id"
                ),
                &[&job, &by_message],
            )?;
            Ok(rows
                .iter()
                .map(item_from_row)
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .filter(|i| i.placements.iter().any(|p| p.to.is_some()))
                .collect())
        })
    }

    fn jobs_rooted_at(&self, message_id: &str, tenant: &str) -> Result<Vec<i64>> {
        self.read(|tx, _| {
            tx.query(
                "SELECT DISTINCT i.job FROM items i JOIN jobs j ON j.id = i.job
                 WHERE j.kind = 'retract' AND j.target = $1
                   AND i.message_id = $1 AND i.depth = 0 AND i.tenant = $2
                 ORDER BY i.job",
                &[&message_id, &tenant],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect()
        })
    }

    fn recorded_destinations(&self, mailbox: &str, message_id: &str) -> Result<HashSet<String>> {
        self.read(|tx, _| {
            tx.query(
                "SELECT p.value -> 'to' ->> 'provider_id'
                 FROM items i, jsonb_array_elements(i.placements::jsonb) p(value)
                 WHERE i.message_id = $1 AND p.value ->> 'to_mailbox' = $2
                   AND p.value -> 'to' ->> 'provider_id' IS NOT NULL",
                &[&message_id, &mailbox],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect()
        })
    }

    fn cancel_job(&self, id: i64, audit: &NewAudit) -> Result<u64> {
        self.write(|tx, now| {
            // The UPDATE locks the job row: claims (which read its status) and items given
            // back (which lock it first) wait for this cancel to commit.
            let cancelled_job = tx.query_opt(
                "UPDATE jobs SET status = 'cancelled', throttle_note = NULL
                 WHERE id = $1 AND status IN ('queued', 'running') RETURNING id",
                &[&id],
            )?;
            if cancelled_job.is_none() {
                return Err(not_cancellable(tx, id)?);
            }
            let r = tx.query_one(
                "SELECT count(*) FILTER (WHERE state = 'queued' AND attempts > 0),
                        count(*) FILTER (WHERE state = 'claimed')
                 FROM items WHERE job = $1",
                &[&id],
            )?;
            let (waiting, in_flight) = (count(&r, 0)?, count(&r, 1)?);
            let cancelled = tx.execute(
                "UPDATE items SET state = 'cancelled', outcome = 'cancelled', finished_at = $2
                 WHERE job = $1 AND state = 'queued'",
                &[&id, &now.millis()],
            )?;
            let mut audit = audit.clone();
            audit.job = Some(id);
            audit.detail = Some(format!(
                "{cancelled} queued items cancelled ({waiting} of them waiting to retry); \
                 {in_flight} in flight finish and are recorded"
            ));
            append(tx, now, &audit)?;
            settle_job(tx, now, id)?;
            Ok(cancelled)
        })
    }

    fn unfinished_items(&self, jobs: &[i64]) -> Result<Vec<(i64, u64, u64)>> {
        let jobs = jobs.to_vec();
        self.read(move |tx, _| {
            tx.query(
                "SELECT job, count(*) FILTER (WHERE state = 'queued'),
                        count(*) FILTER (WHERE state = 'claimed')
                 FROM items WHERE job = ANY($1) AND state IN ('queued', 'claimed')
                 GROUP BY job ORDER BY job",
                &[&jobs],
            )?
            .iter()
            .map(|r| Ok((get(r, 0)?, count(r, 1)?, count(r, 2)?)))
            .collect()
        })
    }

    fn finish_item(&self, f: &ItemFinish) -> Result<bool> {
        self.write(|tx, now| {
            let job: Option<i64> = tx
                .query_opt("SELECT job FROM items WHERE id = $1", &[&f.item])?
                .map(|r| get(&r, 0))
                .transpose()?;
            if let Some(job) = job {
                lock_job(tx, job)?;
            }
            let finished: Option<i64> = tx
                .query_opt(
                    "UPDATE items SET state = $3, outcome = $4, error = $5, placements = $6, finished_at = $7,
                         claimed_by = NULL
                     WHERE id = $1 AND state = 'claimed' AND claimed_by = $2 RETURNING job",
                    &[
                        &f.item,
                        &f.worker,
                        &f.state.as_str(),
                        &f.outcome.as_str(),
                        &f.error,
                        &placements_json(&f.placements),
                        &now.millis(),
                    ],
                )?
                .map(|r| get(&r, 0))
                .transpose()?;
            let Some(job) = finished else {
                if f.acted {
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

    fn set_throttle_note(&self, job: i64, note: Option<&str>) -> Result<()> {
        self.write(|tx, _| {
            tx.execute(
                "UPDATE jobs SET throttle_note = $2 WHERE id = $1",
                &[&job, &note],
            )?;
            tx.progressed(job, false);
            Ok(())
        })
    }
}

impl EvidenceStore for PgStore {
    fn add_evidence(
        &self,
        item: i64,
        tenant: &str,
        mailbox: &str,
        message_id: &str,
        folder: &str,
        raw: &[u8],
    ) -> Result<String> {
        let sha = hex::encode(Sha256::digest(raw));
        self.write(|tx, now| {
            tx.execute(
                "INSERT INTO evidence (item, tenant, mailbox, message_id, folder, sha256, size, raw, taken_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[&item, &tenant, &mailbox, &message_id, &folder, &sha, &(raw.len() as i64), &raw, &now.millis()],
            )?;
            Ok(())
        })?;
        Ok(sha)
    }

    fn evidence_for_item(&self, item: i64) -> Result<Vec<EvidenceRecord>> {
        self.evidence_where("item = $1 ORDER BY id", &[&item])
    }

    fn evidence_for_message(&self, tenant: &str, message_id: &str) -> Result<Vec<EvidenceRecord>> {
        self.evidence_where(
            "tenant = $1 AND message_id = $2 ORDER BY id DESC",
            &[&tenant, &message_id],
        )
    }

    fn evidence_raw(&self, id: i64) -> Result<Vec<u8>> {
        self.read(|tx, _| {
            let row = tx
                .query_opt("SELECT raw FROM evidence WHERE id = $1", &[&id])?
                .ok_or_else(|| StoreError::NotFound(format!("no evidence copy {id}")))?;
            get(&row, 0)
        })
    }
}

impl PgStore {
    /// The evidence records matching `condition` (a fixed SQL text with `$n` parameters).
    fn evidence_where(
        &self,
        condition: &str,
        params: &[&(dyn ::postgres::types::ToSql + Sync)],
    ) -> Result<Vec<EvidenceRecord>> {
        let of = RowOf {
            table: "evidence",
            id_column: 0,
        };
        let sql = format!(
            "SELECT id, item, mailbox, message_id, folder, sha256, size, taken_at FROM evidence
             WHERE {condition}"
        );
        self.read(|tx, _| {
            tx.query(sql.as_str(), params)?
                .iter()
                .map(|r| {
                    Ok(EvidenceRecord {
                        id: get(r, 0)?,
                        item: get(r, 1)?,
                        mailbox: get(r, 2)?,
                        message_id: get(r, 3)?,
                        folder: get(r, 4)?,
                        sha256: get(r, 5)?,
                        size: count(r, 6)?,
                        taken_at: of.millis(r, 7, "taken_at")?,
                    })
                })
                .collect()
        })
    }
}
