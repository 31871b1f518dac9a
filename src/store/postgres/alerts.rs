//! Alerts, their revisions and the policies' decisions on PostgreSQL: the SQLite store's
//! statements (see `store::alerts`), with the row locks several deciders and intakes need.
//! An alert's row is locked before its revision is counted on, so two intakes receiving the
//! same update write one revision each in turn; a revision is claimed `FOR UPDATE SKIP
//! LOCKED`; a decision's fence is one conditional `UPDATE`, which locks the revision's row.

use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::Row;

use super::PgStore;
use super::approvals::insert_approval;
use super::audit::append;
use super::decode::{RowOf, get};
use super::jobs::insert_job;
use super::statements::Tx;
use crate::model::{Alert, AlertDisposition, AlertReceipt};
use crate::store::alerts::{alert_from_body, body_of};
use crate::store::clock::Now;
use crate::store::{
    AlertCounts, AlertLog, ClaimedRevision, DecisionEffect, DecisionRecord, NewDecision, Result,
    StoreError,
};

const DECISION_ROW: RowOf = RowOf {
    table: "decisions",
    id_column: 0,
};

const REVISION_ROW: RowOf = RowOf {
    table: "alert_revisions",
    id_column: 0,
};

/// The stored alert of (source, id), its row locked to the end of the transaction.
fn locked_alert(tx: &mut Tx<'_>, alert: &Alert) -> Result<Option<(i64, i64, String)>> {
    tx.query_opt(
        "SELECT id, revision, body FROM alerts WHERE source = $1 AND source_id = $2 FOR UPDATE",
        &[&alert.source, &alert.id],
    )?
    .map(|r| Ok((get(&r, 0)?, get(&r, 1)?, get(&r, 2)?)))
    .transpose()
}

/// Store one alert inside `tx`: new, a repeat (nothing written) or an update (a revision).
fn receive_one(tx: &mut Tx<'_>, now: Now, alert: &Alert) -> Result<AlertReceipt> {
    let body = body_of(alert)?;
    let mut existing = locked_alert(tx, alert)?;
    if existing.is_none() {
        let inserted = tx.query_opt(
            "INSERT INTO alerts (source, source_id, revision, message_id, classification,
                 status, tenant, body, received_at, updated_at)
             VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (source, source_id) DO NOTHING RETURNING id",
            &[
                &alert.source,
                &alert.id,
                &alert.message_id,
                &alert.classification,
                &alert.status.as_str(),
                &alert.tenant,
                &body,
                &now.millis(),
            ],
        )?;
        match inserted {
            Some(row) => {
                let number: i64 = get(&row, 0)?;
                insert_revision(tx, now, number, 1, &body)?;
                return Ok(AlertReceipt {
                    number,
                    revision: 1,
                    disposition: AlertDisposition::New,
                });
            }
            // Another intake stored it between our look and our insert: it is theirs now,
            // and this one is a repeat or an update of it.
            None => existing = locked_alert(tx, alert)?,
        }
    }
    let Some((number, revision, stored)) = existing else {
        return Err(StoreError::Database(format!(
            "alert {} of {}: neither stored nor storable",
            alert.id, alert.source
        )));
    };
    // Compared as alerts, not as text: the same alert with its keys in another order is a
    // repeat.
    if alert_from_body(&stored)? == *alert {
        return Ok(AlertReceipt {
            number,
            revision,
            disposition: AlertDisposition::Repeat,
        });
    }
    let revision = revision + 1;
    tx.execute(
        "UPDATE alerts SET revision = $2, message_id = $3, classification = $4, status = $5,
             tenant = $6, body = $7, updated_at = $8 WHERE id = $1",
        &[
            &number,
            &revision,
            &alert.message_id,
            &alert.classification,
            &alert.status.as_str(),
            &alert.tenant,
            &body,
            &now.millis(),
        ],
    )?;
    insert_revision(tx, now, number, revision, &body)?;
    Ok(AlertReceipt {
        number,
        revision,
        disposition: AlertDisposition::Updated,
    })
}

fn insert_revision(
    tx: &mut Tx<'_>,
    now: Now,
    number: i64,
    revision: i64,
    body: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO alert_revisions (alert, revision, body, received_at) VALUES ($1, $2, $3, $4)",
        &[&number, &revision, &body, &now.millis()],
    )?;
    Ok(())
}

fn decision_from_row(r: &Row) -> Result<DecisionRecord> {
    Ok(DecisionRecord {
        alert: get(r, 0)?,
        revision: get(r, 1)?,
        source: get(r, 2)?,
        source_id: get(r, 3)?,
        rule: get(r, 4)?,
        outcome: get(r, 5)?,
        rail: get(r, 6)?,
        job: get(r, 7)?,
        approval: get(r, 8)?,
        detail: get(r, 9)?,
        at: DECISION_ROW.millis(r, 10, "at")?,
        received_at: REVISION_ROW.millis(r, 11, "received_at")?,
    })
}

fn insert_decision_effect(
    tx: &mut Tx<'_>,
    now: Now,
    effect: DecisionEffect<'_>,
) -> Result<(Option<i64>, Option<i64>)> {
    Ok(match effect {
        DecisionEffect::Nothing => (None, None),
        DecisionEffect::Job(job, items) => (Some(insert_job(tx, now, job, items)?), None),
        DecisionEffect::Approval(request) => (None, Some(insert_approval(tx, now, request)?)),
    })
}

impl AlertLog for PgStore {
    fn receive_alerts(&self, alerts: &[Alert]) -> Result<Vec<AlertReceipt>> {
        self.write(|tx, now| alerts.iter().map(|a| receive_one(tx, now, a)).collect())
    }

    fn release_dead_alert_claims(&self, is_dead: &dyn Fn(&str) -> bool) -> Result<u64> {
        // Whether a decider is gone is asked outside the transaction (`is_dead` looks at this
        // host's processes); the release itself still requires the revision undecided.
        let owners: Vec<String> = self.read(|tx, _| {
            tx.query(
                "SELECT DISTINCT claimed_by FROM alert_revisions
                 WHERE decided_at IS NULL AND claimed_by IS NOT NULL",
                &[],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect()
        })?;
        let dead: Vec<String> = owners.into_iter().filter(|o| is_dead(o)).collect();
        if dead.is_empty() {
            return Ok(0);
        }
        self.write(move |tx, _| {
            let mut released = 0;
            for owner in &dead {
                released += tx.execute(
                    "UPDATE alert_revisions SET claimed_by = NULL, claimed_at = NULL
                     WHERE decided_at IS NULL AND claimed_by = $1",
                    &[owner],
                )?;
            }
            Ok(released)
        })
    }

    fn claim_alert_revision(
        &self,
        decider: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedRevision>> {
        self.write(|tx, now| {
            let stale = now
                .millis()
                .saturating_sub(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
            // SKIP LOCKED: a revision another decider is claiming right now is passed over;
            // the outer UPDATE re-checks the conditions on the row it locked.
            let claimed = tx.query_opt(
                "UPDATE alert_revisions SET claimed_by = $1, claimed_at = $2
                 WHERE (alert, revision) = (
                     SELECT r.alert, r.revision FROM alert_revisions r
                     WHERE r.decided_at IS NULL
                       AND (r.claimed_by IS NULL OR r.claimed_at < $3)
                       AND NOT EXISTS (SELECT 1 FROM alert_revisions e
                           WHERE e.alert = r.alert AND e.revision < r.revision
                             AND e.decided_at IS NULL)
                     ORDER BY r.received_at, r.alert, r.revision LIMIT 1
                     FOR UPDATE SKIP LOCKED)
                   AND decided_at IS NULL AND (claimed_by IS NULL OR claimed_at < $3)
                 RETURNING alert, revision, body, received_at",
                &[&decider, &now.millis(), &stale],
            )?;
            claimed
                .map(|r| {
                    Ok(ClaimedRevision {
                        number: get(&r, 0)?,
                        revision: get(&r, 1)?,
                        alert: alert_from_body(&get::<String>(&r, 2)?)?,
                        received_at: REVISION_ROW.millis(&r, 3, "received_at")?,
                        claimed_by: decider.to_string(),
                    })
                })
                .transpose()
        })
    }

    fn decide_alert(
        &self,
        claim: &ClaimedRevision,
        decision: &NewDecision,
        effect: DecisionEffect<'_>,
    ) -> Result<Option<DecisionRecord>> {
        self.write(|tx, now| {
            // The fence: the claim is still ours and the revision undecided. The UPDATE locks
            // the revision's row, so a decider taking it over waits and then finds it decided.
            let held = tx.execute(
                "UPDATE alert_revisions SET decided_at = $4
                 WHERE alert = $1 AND revision = $2 AND claimed_by = $3 AND decided_at IS NULL",
                &[
                    &claim.number,
                    &claim.revision,
                    &claim.claimed_by,
                    &now.millis(),
                ],
            )?;
            if held == 0 {
                return Ok(None);
            }
            let (job, approval) = insert_decision_effect(tx, now, effect)?;
            tx.execute(
                "INSERT INTO decisions (alert, revision, rule, outcome, rail, job, approval, detail, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &claim.number,
                    &claim.revision,
                    &decision.rule,
                    &decision.outcome,
                    &decision.rail,
                    &job,
                    &approval,
                    &decision.detail,
                    &now.millis(),
                ],
            )?;
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

    fn decisions_since(&self, since: DateTime<Utc>) -> Result<Vec<DecisionRecord>> {
        self.read(|tx, _| {
            tx.query(
                "SELECT d.alert, d.revision, a.source, a.source_id, d.rule, d.outcome, d.rail,
                        d.job, d.approval, d.detail, d.at, r.received_at
                 FROM decisions d JOIN alerts a ON a.id = d.alert
                 JOIN alert_revisions r ON r.alert = d.alert AND r.revision = d.revision
                 WHERE d.at >= $1 ORDER BY d.id",
                &[&since.timestamp_millis()],
            )?
            .iter()
            .map(decision_from_row)
            .collect()
        })
    }

    fn alert_number(&self, source: &str, id: &str) -> Result<Option<i64>> {
        self.read(|tx, _| {
            tx.query_opt(
                "SELECT id FROM alerts WHERE source = $1 AND source_id = $2",
                &[&source, &id],
            )?
            .map(|r| get(&r, 0))
            .transpose()
        })
    }

    fn jobs_of_alert(&self, number: i64) -> Result<Vec<i64>> {
        self.read(|tx, _| {
            tx.query(
                "SELECT j.id FROM jobs j WHERE j.kind = 'retract' AND j.id IN (
                     SELECT job FROM decisions WHERE alert = $1 AND job IS NOT NULL
                     UNION SELECT job FROM approvals WHERE alert = $1 AND job IS NOT NULL)
                 ORDER BY j.id",
                &[&number],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect()
        })
    }

    fn first_pulled_at(&self, job: i64) -> Result<Option<DateTime<Utc>>> {
        const ITEMS: RowOf = RowOf {
            table: "items",
            id_column: 1,
        };
        self.read(|tx, _| {
            let row = tx.query_one(
                "SELECT MIN(finished_at), $1::bigint FROM items
                 WHERE job = $1 AND outcome = 'remediated'",
                &[&job],
            )?;
            ITEMS.millis_or_null(&row, 0, "finished_at")
        })
    }

    fn alert_counts(&self) -> Result<AlertCounts> {
        self.read(|tx, _| {
            let row = tx.query_one(
                "SELECT (SELECT COUNT(*) FROM alerts), (SELECT COUNT(*) FROM alert_revisions),
                        (SELECT COUNT(*) FROM alert_revisions WHERE decided_at IS NULL),
                        (SELECT COUNT(*) FROM decisions)",
                &[],
            )?;
            let count = |i: usize| -> Result<u64> { Ok(get::<i64>(&row, i)?.max(0) as u64) };
            Ok(AlertCounts {
                alerts: count(0)?,
                revisions: count(1)?,
                undecided: count(2)?,
                decisions: count(3)?,
            })
        })
    }
}
