//! Approval requests on PostgreSQL: the SQLite store's statements (see `store::approvals`).
//! Each change of a request is one conditional `UPDATE` (pending, not expired, not the
//! requester's own), which locks the request's row: two approvers at once settle it once.

use postgres::Row;

use super::PgStore;
use super::audit::append;
use super::decode::{RowOf, get, narrow};
use super::jobs::insert_job;
use super::statements::Tx;
use crate::store::approvals::APPROVAL_COLUMNS;
use crate::store::clock::Now;
use crate::store::{
    ApprovalRecord, Approvals, NewApproval, NewAudit, Result, Settlement, StoreError,
};

const APPROVAL_ROW: RowOf = RowOf {
    table: "approvals",
    id_column: 0,
};

fn record(r: &Row) -> Result<ApprovalRecord> {
    Ok(ApprovalRecord {
        id: get(r, 0)?,
        alert: get(r, 1)?,
        revision: get(r, 2)?,
        rule: get(r, 3)?,
        kind: get(r, 4)?,
        action: get(r, 5)?,
        target: get(r, 6)?,
        reason: get(r, 7)?,
        request: get(r, 8)?,
        plan_hash: get(r, 9)?,
        by_depth: APPROVAL_ROW.json(r, 10, "by_depth")?,
        mailboxes: narrow(r, APPROVAL_ROW, 11, "mailboxes")?,
        requested_by: get(r, 12)?,
        created_at: APPROVAL_ROW.millis(r, 13, "created_at")?,
        expires_at: APPROVAL_ROW.millis(r, 14, "expires_at")?,
        state: get(r, 15)?,
        decided_by: get(r, 16)?,
        decided_at: APPROVAL_ROW.millis_or_null(r, 17, "decided_at")?,
        decision_reason: get(r, 18)?,
        job: get(r, 19)?,
    })
}

/// Write a request inside the caller's transaction (a decision's); its id.
pub(super) fn insert_approval(tx: &mut Tx<'_>, now: Now, a: &NewApproval) -> Result<i64> {
    let by_depth = a.by_depth.to_string();
    let mailboxes = i64::try_from(a.mailboxes).unwrap_or(i64::MAX);
    let row = tx.query_one(
        "INSERT INTO approvals (alert, revision, rule, kind, action, target, reason, request,
             plan_hash, by_depth, mailboxes, requested_by, created_at, expires_at, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending')
         RETURNING id",
        &[
            &a.alert.map(|x| x.0),
            &a.alert.map(|x| x.1),
            &a.rule,
            &a.kind,
            &a.action,
            &a.target,
            &a.reason,
            &a.request,
            &a.plan_hash,
            &by_depth,
            &mailboxes,
            &a.requested_by,
            &now.millis(),
            &now.millis_after(a.expires_in),
        ],
    )?;
    get(&row, 0)
}

fn read_one(tx: &mut Tx<'_>, id: i64) -> Result<ApprovalRecord> {
    let sql = format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1");
    tx.query_opt(&sql, &[&id])?
        .map(|r| record(&r))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("no approval request {id}")))
}

impl Approvals for PgStore {
    fn request_approval(&self, a: &NewApproval, audit: &NewAudit) -> Result<i64> {
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

    fn approvals(&self, state: Option<&str>) -> Result<Vec<ApprovalRecord>> {
        self.read(|tx, _| {
            let sql = format!(
                "SELECT {APPROVAL_COLUMNS} FROM approvals
                 WHERE $1::text IS NULL OR state = $1 ORDER BY id"
            );
            tx.query(&sql, &[&state])?.iter().map(record).collect()
        })
    }

    fn approval(&self, id: i64) -> Result<ApprovalRecord> {
        self.read(|tx, _| read_one(tx, id))
    }

    fn expire_approvals(
        &self,
        audit: &dyn Fn(&ApprovalRecord) -> NewAudit,
    ) -> Result<Vec<ApprovalRecord>> {
        // The audit records are made first, outside the transaction (`audit` is the caller's
        // and may not cross to the driver's thread), from the requests due at the read's
        // moment as they will read once expired. The write then expires each one only if it
        // is still pending and due, and appends its record with it: a request settled in
        // between is left alone, one falling due in between waits for the next call.
        let due: Vec<(i64, NewAudit)> = self
            .read(|tx, at| {
                let sql = format!(
                    "SELECT {APPROVAL_COLUMNS} FROM approvals
                     WHERE state = 'pending' AND expires_at <= $1 ORDER BY id"
                );
                let rows = tx.query(&sql, &[&at.timestamp_millis()])?;
                rows.iter()
                    .map(|r| {
                        let mut r = record(r)?;
                        r.state = "expired".into();
                        r.decided_at = Some(at);
                        Ok(r)
                    })
                    .collect::<Result<Vec<_>>>()
            })?
            .into_iter()
            .map(|r| (r.id, audit(&r)))
            .collect();
        if due.is_empty() {
            return Ok(Vec::new());
        }
        self.write(move |tx, now| {
            let mut expired = Vec::with_capacity(due.len());
            for (id, audit) in &due {
                let changed = tx.execute(
                    "UPDATE approvals SET state = 'expired', decided_at = $2
                     WHERE id = $1 AND state = 'pending' AND expires_at <= $2",
                    &[id, &now.millis()],
                )?;
                if changed == 1 {
                    append(tx, now, audit)?;
                    expired.push(read_one(tx, *id)?);
                }
            }
            Ok(expired)
        })
    }

    fn settle_approval(
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
            let changed = tx.execute(
                "UPDATE approvals SET state = $2, decided_by = $3, decided_at = $4,
                     decision_reason = $5
                 WHERE id = $1 AND state = 'pending' AND expires_at > $4
                   AND requested_by <> $3",
                &[&id, &state, &by, &now.millis(), &reason],
            )?;
            if changed == 0 {
                let record = read_one(tx, id)?;
                let why = if record.state != "pending" {
                    format!("approval request {id} is {} already", record.state)
                } else if record.expires_at.timestamp_millis() <= now.millis() {
                    format!(
                        "approval request {id} expired at {}",
                        record.expires_at.to_rfc3339()
                    )
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
                    tx.execute(
                        "UPDATE approvals SET job = $2 WHERE id = $1",
                        &[&id, &job],
                    )?;
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
