//! A worker's check that a job is the one the service signed, before any of its items is
//! acted on. A row edited in the store (its initiator, a target added or changed) no longer
//! matches its signature: its items fail without touching a mailbox, and the refusal is
//! audited as `job-refused`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::{Engine, EngineError};
use crate::store::{Claimed, NewAudit};
use crate::trust::{JobTarget, SignedJob};

/// What a worker decided about one job, kept for the rest of its run.
#[derive(Clone, Debug)]
pub(super) enum JobVerdict {
    /// The rows match the signature: these are the targets it covers.
    Signed(BTreeSet<JobTarget>),
    Refused(Refusal),
}

/// Why a job's items are not acted on.
#[derive(Clone, Debug)]
pub(super) struct Refusal {
    pub reason: String,
    /// The initiator the service signed, when the signed form is readable: the audit names
    /// them, not whoever the edited row names.
    pub signed_initiator: Option<String>,
}

/// Verdicts per job.
pub(super) type JobVerdicts = Mutex<HashMap<i64, JobVerdict>>;

impl Engine {
    /// `Some` when the claimed item must not be acted on: its job does not match its
    /// signature, or the item is not one of the signed targets. Only a signing process checks
    /// (embedded mode has no key, and acts as it always has).
    pub(super) fn job_refusal(&self, c: &Claimed) -> Result<Option<Refusal>, EngineError> {
        let Some(key) = self.store.signer().map(|k| k.public()) else {
            return Ok(None);
        };
        let job = c.item.job_id;
        let cached = self
            .job_verdicts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&job)
            .cloned();
        let verdict = match cached {
            Some(v) => v,
            None => {
                let sig = self.store.job_signature(job)?;
                let verdict = match (&sig.signed_form, &sig.signature) {
                    (Some(text), Some(signature)) if SignedJob::verifies(text, signature, &key) => {
                        match SignedJob::from_text(text) {
                            Some(signed) => {
                                let found = signed.differences(&sig.current);
                                if found.is_empty() {
                                    JobVerdict::Signed(signed.targets.into_iter().collect())
                                } else {
                                    JobVerdict::Refused(Refusal {
                                        reason: format!(
                                            "job {job} does not match its signature: {}",
                                            found.join("; ")
                                        ),
                                        signed_initiator: Some(signed.initiated_by),
                                    })
                                }
                            }
                            None => refused(job, "its signed form is unreadable", None),
                        }
                    }
                    (Some(text), Some(_)) => refused(
                        job,
                        &format!(
                            "its signature is not the service key's {}",
                            key.fingerprint()
                        ),
                        SignedJob::from_text(text).map(|s| s.initiated_by),
                    ),
                    _ => refused(job, "it is not signed by the service", None),
                };
                if let JobVerdict::Refused(r) = &verdict {
                    self.store.audit(&NewAudit {
                        actor: self.actor.login.clone(),
                        ssh_from: None,
                        role: "engine".into(),
                        action: "job-refused".into(),
                        target: format!("job {job}"),
                        reason: None,
                        outcome: "refused".into(),
                        job: Some(job),
                        detail: Some(r.reason.clone()),
                    })?;
                    tracing::warn!(job, "{}", r.reason);
                }
                self.job_verdicts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(job, verdict.clone());
                verdict
            }
        };
        Ok(match verdict {
            JobVerdict::Refused(r) => Some(r),
            JobVerdict::Signed(targets) => {
                let item = &c.item;
                let target = JobTarget {
                    tenant: item.tenant.clone(),
                    mailbox: item.mailbox.clone(),
                    message_id: item.message_id.clone(),
                    depth: item.depth,
                };
                (!targets.contains(&target)).then(|| Refusal {
                    reason: format!(
                        "item {} ({} {}) is not one of job {job}'s signed targets",
                        item.id, item.mailbox, item.message_id
                    ),
                    signed_initiator: None,
                })
            }
        })
    }
}

fn refused(job: i64, why: &str, signed_initiator: Option<String>) -> JobVerdict {
    JobVerdict::Refused(Refusal {
        reason: format!("job {job} is refused: {why}"),
        signed_initiator,
    })
}
