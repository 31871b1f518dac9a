//! Alerts as received, their revisions, and the policies' decisions on them.
//!
//! An alert is stored before anything else happens to it (an intake acknowledges it only
//! then). Each change of one (source, id) is a new revision that the policies decide on
//! exactly once: a decider claims the revision here first, and its decision (with the job or
//! the approval request it made) is written in one transaction fenced on that claim, so two
//! deciders never both act and a decider that died after claiming leaves the revision to the
//! next one.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::approvals::{NewApproval, insert_approval};
use super::audit::append;
use super::jobs::insert_job;
use super::{NewAudit, NewItem, NewJob, Now, Result, SqliteStore, StoreError};
use crate::model::{Alert, AlertDisposition, AlertReceipt};

/// A revision a decider has claimed: the alert as that revision says it, and the one before
/// (a false positive restores what the earlier `active` revision pulled).
#[derive(Clone, Debug)]
pub struct ClaimedRevision {
    /// The store's number for the alert.
    pub number: i64,
    pub revision: i64,
    pub alert: Alert,
    /// When this revision was received.
    pub received_at: DateTime<Utc>,
    /// Who claimed it (the fence of [`Store::decide_alert`]).
    pub claimed_by: String,
}

/// What a decider concluded about one revision, audited with it.
#[derive(Clone, Debug, Default)]
pub struct NewDecision {
    /// The rule that matched (`None`: no rule did).
    pub rule: Option<String>,
    /// `pulled`, `restored`, `requested`, `passive`, `no-action`, `disabled`, `failed`.
    pub outcome: String,
    /// The rail that fired, if one did (`window`, `max_mailboxes`, `protect`,
    /// `already-acted`, ...).
    pub rail: Option<String>,
    /// In words, for the audit and `policy report`.
    pub detail: String,
    /// The audit record of the decision (its job and approval are filled in here).
    pub audit: NewAudit,
}

/// What the decision made, if anything: written with the decision, or not at all.
pub enum DecisionEffect<'a> {
    Nothing,
    Job(&'a NewJob, &'a [NewItem]),
    Approval(&'a NewApproval),
}

/// A stored decision.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct DecisionRecord {
    pub alert: i64,
    pub revision: i64,
    pub source: String,
    pub source_id: String,
    pub rule: Option<String>,
    pub outcome: String,
    pub rail: Option<String>,
    pub job: Option<i64>,
    pub approval: Option<i64>,
    pub detail: String,
    /// When the decision was written.
    pub at: DateTime<Utc>,
    /// When the revision decided on was received.
    pub received_at: DateTime<Utc>,
}

/// How many alerts, revisions and decisions the store holds (tests, `policy report`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlertCounts {
    pub alerts: u64,
    pub revisions: u64,
    pub undecided: u64,
    pub decisions: u64,
}

pub(super) fn millis_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(super) fn alert_from_body(body: &str) -> Result<Alert> {
    serde_json::from_str(body)
        .map_err(|e| StoreError::Database(format!("a stored alert is unreadable: {e}")))
}

pub(super) fn body_of(alert: &Alert) -> Result<String> {
    serde_json::to_string(alert)
        .map_err(|e| StoreError::Invalid(format!("alert {}: cannot store: {e}", alert.id)))
}

/// Store one alert inside `tx`: new, a repeat (nothing written) or an update (a revision).
fn receive_one(tx: &Transaction<'_>, now: Now, alert: &Alert) -> Result<AlertReceipt> {
    let body = body_of(alert)?;
    let existing: Option<(i64, i64, String)> = tx
        .prepare_cached(
            "SELECT id, revision, body FROM alerts WHERE source = ?1 AND source_id = ?2",
        )?
        .query_row(params![alert.source, alert.id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let (number, revision, disposition) = match existing {
        Some((number, revision, stored)) => {
            // Compared as alerts, not as text: the same alert sent with its keys in another
            // order is a repeat.
            if alert_from_body(&stored)? == *alert {
                return Ok(AlertReceipt {
                    number,
                    revision,
                    disposition: AlertDisposition::Repeat,
                });
            }
            let revision = revision + 1;
            tx.prepare_cached(
                "UPDATE alerts SET revision = ?2, message_id = ?3, classification = ?4, status = ?5,
                     tenant = ?6, body = ?7, updated_at = ?8 WHERE id = ?1",
            )?
            .execute(params![
                number,
                revision,
                alert.message_id,
                alert.classification,
                alert.status.as_str(),
                alert.tenant,
                body,
                now.millis()
            ])?;
            (number, revision, AlertDisposition::Updated)
        }
        None => {
            let number: i64 = tx
                .prepare_cached(
                    "INSERT INTO alerts (source, source_id, revision, message_id, classification,
                         status, tenant, body, received_at, updated_at)
                     VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id",
                )?
                .query_row(
                    params![
                        alert.source,
                        alert.id,
                        alert.message_id,
                        alert.classification,
                        alert.status.as_str(),
                        alert.tenant,
                        body,
                        now.millis()
                    ],
                    |r| r.get(0),
                )?;
            (number, 1, AlertDisposition::New)
        }
    };
    tx.prepare_cached(
        "INSERT INTO alert_revisions (alert, revision, body, received_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![number, revision, body, now.millis()])?;
    Ok(AlertReceipt {
        number,
        revision,
        disposition,
    })
}

impl SqliteStore {
    /// Store alerts in one transaction (all or none), each new, a repeat or an update; on
    /// disk when this returns, since the caller acknowledges them.
    pub fn receive_alerts(&self, alerts: &[Alert]) -> Result<Vec<AlertReceipt>> {
        self.write_durable(|tx, now| alerts.iter().map(|a| receive_one(tx, now, a)).collect())
    }

    /// Give back claims on undecided revisions held by deciders `is_dead` says are gone.
    pub fn release_dead_alert_claims(&self, is_dead: &dyn Fn(&str) -> bool) -> Result<u64> {
        self.write(|tx, _| {
            let owners: Vec<String> = tx
                .prepare_cached(
                    "SELECT DISTINCT claimed_by FROM alert_revisions
                     WHERE decided_at IS NULL AND claimed_by IS NOT NULL",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut released = 0;
            for owner in owners.iter().filter(|o| is_dead(o)) {
                released += tx
                    .prepare_cached(
                        "UPDATE alert_revisions SET claimed_by = NULL, claimed_at = NULL
                         WHERE decided_at IS NULL AND claimed_by = ?1",
                    )?
                    .execute([owner])? as u64;
            }
            Ok(released)
        })
    }

    /// Claim the oldest undecided revision for `decider` (one whose earlier revisions are all
    /// decided, so an alert's revisions are decided in order); a claim older than `lease` is
    /// taken over. `None` when there is nothing to decide.
    pub fn claim_alert_revision(
        &self,
        decider: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedRevision>> {
        self.write(|tx, now| {
            let stale = now
                .millis()
                .saturating_sub(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
            let claimed: Option<(i64, i64, String, i64)> = tx
                .prepare_cached(
                    "UPDATE alert_revisions SET claimed_by = ?1, claimed_at = ?2
                     WHERE rowid = (
                         SELECT r.rowid FROM alert_revisions r
                         WHERE r.decided_at IS NULL
                           AND (r.claimed_by IS NULL OR r.claimed_at < ?3)
                           AND NOT EXISTS (SELECT 1 FROM alert_revisions e
                               WHERE e.alert = r.alert AND e.revision < r.revision
                                 AND e.decided_at IS NULL)
                         ORDER BY r.received_at, r.alert, r.revision LIMIT 1)
                     RETURNING alert, revision, body, received_at",
                )?
                .query_row(params![decider, now.millis(), stale], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            claimed
                .map(|(number, revision, body, received)| {
                    Ok(ClaimedRevision {
                        number,
                        revision,
                        alert: alert_from_body(&body)?,
                        received_at: millis_to_time(received),
                        claimed_by: decider.to_string(),
                    })
                })
                .transpose()
        })
    }

    /// Write a decision on a claimed revision, with what it made (a job, an approval request)
    /// and its audit record, in one transaction. `Ok(None)` (nothing written) when the claim
    /// is no longer `claim.claimed_by`'s: another decider took the revision over.
    pub fn decide_alert(
        &self,
        claim: &ClaimedRevision,
        decision: &NewDecision,
        effect: DecisionEffect<'_>,
    ) -> Result<Option<DecisionRecord>> {
        self.write(|tx, now| {
            // The fence: the claim is still ours and the revision undecided. A multi-writer
            // database takes the row lock here (`FOR UPDATE`).
            let held = tx
                .prepare_cached(
                    "UPDATE alert_revisions SET decided_at = ?4
                     WHERE alert = ?1 AND revision = ?2 AND claimed_by = ?3 AND decided_at IS NULL",
                )?
                .execute(params![
                    claim.number,
                    claim.revision,
                    claim.claimed_by,
                    now.millis()
                ])?;
            if held == 0 {
                return Ok(None);
            }
            let (job, approval) = match effect {
                DecisionEffect::Nothing => (None, None),
                DecisionEffect::Job(job, items) => (Some(insert_job(tx, now, job, items)?), None),
                DecisionEffect::Approval(request) => (None, Some(insert_approval(tx, now, request)?)),
            };
            tx.prepare_cached(
                "INSERT INTO decisions (alert, revision, rule, outcome, rail, job, approval, detail, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                claim.number,
                claim.revision,
                decision.rule,
                decision.outcome,
                decision.rail,
                job,
                approval,
                decision.detail,
                now.millis()
            ])?;
            let mut audit = decision.audit.clone();
            audit.job = job;
            append(tx, now, &audit)?;
            Ok(Some(DecisionRecord {
                alert: claim.number,
                revision: claim.revision,
                source: claim.alert.source.clone(),
                source_id: claim.alert.id.clone(),
                rule: decision.rule.clone(),
                outcome: decision.outcome.clone(),
                rail: decision.rail.clone(),
                job,
                approval,
                detail: decision.detail.clone(),
                at: now.0,
                received_at: claim.received_at,
            }))
        })
    }

    /// Decisions written at or after `since`, oldest first.
    pub fn decisions_since(&self, since: DateTime<Utc>) -> Result<Vec<DecisionRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT d.alert, d.revision, a.source, a.source_id, d.rule, d.outcome, d.rail,
                        d.job, d.approval, d.detail, d.at, r.received_at
                 FROM decisions d JOIN alerts a ON a.id = d.alert
                 JOIN alert_revisions r ON r.alert = d.alert AND r.revision = d.revision
                 WHERE d.at >= ?1 ORDER BY d.id",
            )?;
            let rows = stmt
                .query_map([since.timestamp_millis()], |r| {
                    Ok(DecisionRecord {
                        alert: r.get(0)?,
                        revision: r.get(1)?,
                        source: r.get(2)?,
                        source_id: r.get(3)?,
                        rule: r.get(4)?,
                        outcome: r.get(5)?,
                        rail: r.get(6)?,
                        job: r.get(7)?,
                        approval: r.get(8)?,
                        detail: r.get(9)?,
                        at: millis_to_time(r.get(10)?),
                        received_at: millis_to_time(r.get(11)?),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The store's number for the alert `source` sent as `id`, if it was ever received:
    /// `policy test` finds through it the jobs a rehearsed false positive would restore.
    pub fn alert_number(&self, source: &str, id: &str) -> Result<Option<i64>> {
        self.read(|tx| {
            let number = tx
                .prepare_cached("SELECT id FROM alerts WHERE source = ?1 AND source_id = ?2")?
                .query_row([source, id], |r| r.get(0))
                .optional()?;
            Ok(number)
        })
    }

    /// The retract jobs earlier decisions on alert `number` made (directly, or through an
    /// approved request), oldest first: what a false positive restores.
    pub fn jobs_of_alert(&self, number: i64) -> Result<Vec<i64>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT j.id FROM jobs j WHERE j.kind = 'retract' AND j.id IN (
                     SELECT job FROM decisions WHERE alert = ?1 AND job IS NOT NULL
                     UNION SELECT job FROM approvals WHERE alert = ?1 AND job IS NOT NULL)
                 ORDER BY j.id",
            )?;
            let jobs = stmt
                .query_map([number], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            Ok(jobs)
        })
    }

    /// When the first copy of `job` was pulled (an item finished `remediated`), if one was.
    pub fn first_pulled_at(&self, job: i64) -> Result<Option<DateTime<Utc>>> {
        self.read(|tx| {
            let at: Option<i64> = tx
                .prepare_cached(
                    "SELECT MIN(finished_at) FROM items WHERE job = ?1 AND outcome = 'remediated'",
                )?
                .query_row([job], |r| r.get(0))?;
            Ok(at.map(millis_to_time))
        })
    }

    /// How many alerts, revisions, undecided revisions and decisions there are.
    pub fn alert_counts(&self) -> Result<AlertCounts> {
        self.read(|tx| {
            let count = |sql: &str| -> Result<u64> {
                Ok(tx.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
            };
            Ok(AlertCounts {
                alerts: count("SELECT COUNT(*) FROM alerts")?,
                revisions: count("SELECT COUNT(*) FROM alert_revisions")?,
                undecided: count("SELECT COUNT(*) FROM alert_revisions WHERE decided_at IS NULL")?,
                decisions: count("SELECT COUNT(*) FROM decisions")?,
            })
        })
    }
}
