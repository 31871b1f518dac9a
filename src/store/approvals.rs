//! Approval requests: a retraction (or a restore) that waits for a second person.
//!
//! A request keeps the request it was planned from and the hash of that plan, never a job:
//! nothing can claim what does not exist yet, so a held retraction cannot run by accident.
//! Approving re-plans; the job is written with the approval, in one transaction, and only
//! when the fresh plan hashes the same (a changed plan voids the approval).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use super::alerts::millis_to_time;
use super::audit::append;
use super::jobs::insert_job;
use super::{NewAudit, NewItem, NewJob, Now, Result, SqliteStore, StoreError};

/// A request to write, with the decision that made it (or a person's manual job).
#[derive(Clone, Debug)]
pub struct NewApproval {
    /// The alert and revision it came from (`None`: a job by hand).
    pub alert: Option<(i64, i64)>,
    pub rule: Option<String>,
    pub kind: String,
    pub action: String,
    pub target: String,
    pub reason: Option<String>,
    /// The request to plan again on approval (the engine's JSON of it).
    pub request: String,
    pub plan_hash: String,
    /// The plan's per-depth counts, as the engine writes them (JSON).
    pub by_depth: serde_json::Value,
    pub mailboxes: u64,
    pub requested_by: String,
    /// How long it may wait.
    pub expires_in: Duration,
}

/// A stored request.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ApprovalRecord {
    pub id: i64,
    pub alert: Option<i64>,
    pub revision: Option<i64>,
    pub rule: Option<String>,
    pub kind: String,
    pub action: String,
    pub target: String,
    pub reason: Option<String>,
    pub request: String,
    pub plan_hash: String,
    /// Per depth: messages and mailboxes (`[{"depth","messages","mailboxes"}]`).
    pub by_depth: serde_json::Value,
    pub mailboxes: u64,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `approved`, `rejected`, `expired` or `void`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub job: Option<i64>,
}

/// How a request is settled.
pub enum Settlement<'a> {
    /// Approved: the job of the fresh plan, written with the approval.
    Approve(&'a NewJob, &'a [NewItem]),
    Reject,
    /// The plan changed since the request: the approval is void.
    Void,
}

pub(super) const APPROVAL_COLUMNS: &str =
    "id, alert, revision, rule, kind, action, target, reason, request, plan_hash,
    by_depth, mailboxes, requested_by, created_at, expires_at, state, decided_by, decided_at,
    decision_reason, job";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ApprovalRecord> {
    let by_depth: String = r.get(10)?;
    Ok(ApprovalRecord {
        id: r.get(0)?,
        alert: r.get(1)?,
        revision: r.get(2)?,
        rule: r.get(3)?,
        kind: r.get(4)?,
        action: r.get(5)?,
        target: r.get(6)?,
        reason: r.get(7)?,
        request: r.get(8)?,
        plan_hash: r.get(9)?,
        by_depth: serde_json::from_str(&by_depth).unwrap_or(serde_json::Value::Null),
        mailboxes: r.get::<_, i64>(11)?.max(0) as u64,
        requested_by: r.get(12)?,
        created_at: millis_to_time(r.get(13)?),
        expires_at: millis_to_time(r.get(14)?),
        state: r.get(15)?,
        decided_by: r.get(16)?,
        decided_at: r.get::<_, Option<i64>>(17)?.map(millis_to_time),
        decision_reason: r.get(18)?,
        job: r.get(19)?,
    })
}

/// Write a request inside the caller's transaction (a decision's); its id.
pub(super) fn insert_approval(tx: &Transaction<'_>, now: Now, a: &NewApproval) -> Result<i64> {
    let by_depth = a.by_depth.to_string();
    let expires = now.millis_after(a.expires_in);
    Ok(tx
        .prepare_cached(
            "INSERT INTO approvals (alert, revision, rule, kind, action, target, reason, request,
                 plan_hash, by_depth, mailboxes, requested_by, created_at, expires_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'pending')
             RETURNING id",
        )?
        .query_row(
            params![
                a.alert.map(|x| x.0),
                a.alert.map(|x| x.1),
                a.rule,
                a.kind,
                a.action,
                a.target,
                a.reason,
                a.request,
                a.plan_hash,
                by_depth,
                a.mailboxes as i64,
                a.requested_by,
                now.millis(),
                expires
            ],
            |r| r.get(0),
        )?)
}

fn read_one(tx: &Transaction<'_>, id: i64) -> Result<ApprovalRecord> {
    tx.prepare_cached(&format!(
        "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("no approval request {id}")))
}

impl SqliteStore {
    /// A request made by hand (a manual job above the threshold), with its audit record.
    pub fn request_approval(&self, a: &NewApproval, audit: &NewAudit) -> Result<i64> {
        self.write(|tx, now| {
            let id = insert_approval(tx, now, a)?;
            let mut audit = audit.clone();
            audit.detail = Some(match audit.detail.take() {
                Some(d) => format!("approval request {id}; {d}"),
                None => format!("approval request {id}"),
            });
            append(tx, now, &audit)?;
            Ok(id)
        })
    }

    /// Requests in `state` (every state: `None`), oldest first.
    pub fn approvals(&self, state: Option<&str>) -> Result<Vec<ApprovalRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE ?1 IS NULL OR state = ?1 ORDER BY id"
            ))?;
            let rows = stmt
                .query_map([state], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// One request.
    pub fn approval(&self, id: i64) -> Result<ApprovalRecord> {
        self.read(|tx| read_one(tx, id))
    }

    /// Mark pending requests past their time `expired`, each with the audit record `audit`
    /// makes for it; the requests that expired.
    pub fn expire_approvals(
        &self,
        audit: &dyn Fn(&ApprovalRecord) -> NewAudit,
    ) -> Result<Vec<ApprovalRecord>> {
        self.write(|tx, now| {
            let ids: Vec<i64> = tx
                .prepare_cached(
                    "UPDATE approvals SET state = 'expired', decided_at = ?1
                     WHERE state = 'pending' AND expires_at <= ?1 RETURNING id",
                )?
                .query_map([now.millis()], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut expired = Vec::with_capacity(ids.len());
            for id in ids {
                let record = read_one(tx, id)?;
                append(tx, now, &audit(&record))?;
                expired.push(record);
            }
            Ok(expired)
        })
    }

    /// Settle a pending request as `by` (approve with its job, reject, or void), with its
    /// audit record, in one transaction. Refused (`Invalid`, nothing written) when the request
    /// is not pending any more, has expired, or `by` made it: nobody approves their own.
    pub fn settle_approval(
        &self,
        id: i64,
        by: &str,
        reason: Option<&str>,
        settlement: Settlement<'_>,
        audit: &NewAudit,
    ) -> Result<ApprovalRecord> {
        self.write(|tx, now| {
            let state = match settlement {
                Settlement::Approve(..) => "approved",
                Settlement::Reject => "rejected",
                Settlement::Void => "void",
            };
            // One conditional statement: pending, not expired, not the requester's own.
            let changed = tx
                .prepare_cached(
                    "UPDATE approvals SET state = ?2, decided_by = ?3, decided_at = ?4,
                         decision_reason = ?5
                     WHERE id = ?1 AND state = 'pending' AND expires_at > ?4
                       AND requested_by <> ?3",
                )?
                .execute(params![id, state, by, now.millis(), reason])?;
            if changed == 0 {
                let record = read_one(tx, id)?;
                let why = if record.state != "pending" {
                    format!("approval request {id} is {} already", record.state)
                } else if record.expires_at.timestamp_millis() <= now.millis() {
                    format!("approval request {id} expired at {}", record.expires_at.to_rfc3339())
                } else {
                    format!(
                        "approval request {id} was made by {by}: the requester may not decide their own request"
                    )
                };
                return Err(StoreError::Invalid(why));
            }
            let job = match settlement {
                Settlement::Approve(job, items) => {
                    let job = insert_job(tx, now, job, items)?;
                    tx.prepare_cached("UPDATE approvals SET job = ?2 WHERE id = ?1")?
                        .execute(params![id, job])?;
                    Some(job)
                }
                Settlement::Reject | Settlement::Void => None,
            };
            let mut audit = audit.clone();
            audit.job = job;
            append(tx, now, &audit)?;
            read_one(tx, id)
        })
    }
}
