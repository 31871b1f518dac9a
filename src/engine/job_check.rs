//! A worker's check that a job is the one the service signed, before any of its items is
//! acted on. A row edited in the store (its initiator, a target added or changed) no longer
//! matches its signature: its items fail without touching a mailbox, and the refusal is
//! audited as `job-refused`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;

use super::{Engine, EngineError};
use crate::store::{Claimed, NewAudit};
use crate::trust::{JobTarget, SignedJob};

/// What a worker decided about one job, kept for the rest of its run.
#[derive(Clone, Debug)]
pub(super) enum JobVerdict {
    /// The rows matched the signature when first checked: the signed form, against which
    /// every claimed item (and the job columns it was claimed with) is checked.
    Signed(Box<SignedJob>),
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
        let Some(ring) = self.store.signer().map(|k| k.ring()) else {
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
                    (Some(text), Some(signature)) => {
                        match SignedJob::signer(text, signature, ring, job) {
                            Ok(_) => match SignedJob::from_text(text) {
                                Some(signed) => {
                                    let found = signed.differences(&sig.current);
                                    if found.is_empty() {
                                        JobVerdict::Signed(Box::new(signed))
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
                            },
                            Err(why) => refused(
                                job,
                                &format!("it is {why}"),
                                SignedJob::from_text(text).map(|s| s.initiated_by),
                            ),
                        }
                    }
                    _ => refused(job, "it is not signed by the service", None),
                };
                // Two items of one job claimed at once may both get here: the first verdict
                // stored is the job's, and only its maker audits a refusal (once per job).
                let (verdict, first) = match self
                    .job_verdicts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(job)
                {
                    Entry::Occupied(stored) => (stored.get().clone(), false),
                    Entry::Vacant(slot) => (slot.insert(verdict).clone(), true),
                };
                if let (JobVerdict::Refused(r), true) = (&verdict, first)
                    && let Err(e) = self.audit_refusal(job, r)
                {
                    // Unaudited, the refusal is not kept: the next item tries again.
                    self.job_verdicts
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&job);
                    return Err(e);
                }
                verdict
            }
        };
        Ok(match verdict {
            JobVerdict::Refused(r) => Some(r),
            JobVerdict::Signed(signed) => {
                let item = &c.item;
                let target = JobTarget {
                    tenant: item.tenant.clone(),
                    mailbox: item.mailbox.clone(),
                    message_id: item.message_id.clone(),
                    depth: item.depth,
                };
                // The row may have been edited since the job was first checked in this run.
                let mismatch = if c.initiated_by != signed.initiated_by {
                    Some(format!(
                        "initiated_by is {:?} but was signed as {:?}",
                        c.initiated_by, signed.initiated_by
                    ))
                } else if c.action.as_str() != signed.action || c.kind.as_str() != signed.kind {
                    Some("its kind or action is not the signed one".to_string())
                } else if signed.targets.binary_search(&target).is_err() {
                    Some(format!(
                        "item {} ({} {}) is not one of the signed targets",
                        item.id, item.mailbox, item.message_id
                    ))
                } else {
                    None
                };
                match mismatch {
                    Some(why) => {
                        let r = Refusal {
                            reason: format!("job {job} does not match its signature: {why}"),
                            signed_initiator: Some(signed.initiated_by.clone()),
                        };
                        self.audit_refusal(job, &r)?;
                        Some(r)
                    }
                    None => None,
                }
            }
        })
    }
}

impl Engine {
    /// The `job-refused` record: which job, and what did not match, in this worker's name.
    fn audit_refusal(&self, job: i64, r: &Refusal) -> Result<(), EngineError> {
        tracing::warn!(job, "{}", r.reason);
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
        Ok(())
    }
}

fn refused(job: i64, why: &str, signed_initiator: Option<String>) -> JobVerdict {
    JobVerdict::Refused(Refusal {
        reason: format!("job {job} is refused: {why}"),
        signed_initiator,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::engine::Actor;
    use crate::model::{Action, JobKind, Role};
    use crate::store::{AuditFilter, NewItem, NewJob, Store};
    use crate::trust::ServiceKey;

    fn item(mailbox: &str) -> NewItem {
        NewItem {
            tenant: "corp".into(),
            mailbox: mailbox.into(),
            message_id: "<m@x>".into(),
            ..NewItem::default()
        }
    }

    /// A store in a temporary directory, signing with a key there when `signing`, and an
    /// engine on it acting as `login`.
    fn engine_on_store(signing: bool, login: &str) -> (tempfile::TempDir, Arc<Store>, Arc<Engine>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        if signing {
            store
                .set_signer(Arc::new(ServiceKey::load_or_create(dir.path()).unwrap()))
                .unwrap();
        }
        let config = Config::parse("", &dir.path().join("config.toml")).unwrap();
        let actor = Actor {
            login: login.into(),
            ssh_from: None,
            role: Role::Admin,
        };
        let engine = Arc::new(Engine::new(Arc::new(config), Arc::clone(&store), actor));
        (dir, store, engine)
    }

    /// alice's move-to-junk of `<m@x>` in these mailboxes; its id.
    fn alices_job(store: &Store, audit: NewAudit, mailboxes: &[&str]) -> i64 {
        let items: Vec<NewItem> = mailboxes.iter().map(|m| item(m)).collect();
        store
            .create_job(
                &NewJob {
                    kind: JobKind::Retract,
                    action: Action::MoveToJunk,
                    initiated_by: "alice".into(),
                    ssh_from: None,
                    reason: None,
                    target: "<m@x>".into(),
                    restores_job: None,
                    audit,
                },
                &items,
            )
            .unwrap()
    }

    #[test]
    fn a_job_edited_after_it_was_checked_is_refused_at_its_next_item() {
        let (_dir, store, engine) = engine_on_store(true, "svc");
        let audit = NewAudit {
            actor: "alice".into(),
            role: "analyst".into(),
            action: "move-to-junk".into(),
            target: "<m@x>".into(),
            outcome: "queued".into(),
            ..NewAudit::default()
        };
        let job = alices_job(&store, audit, &["a@corp.test", "b@corp.test"]);
        let first = store.claim_items("w", 1, None).unwrap();
        assert!(engine.job_refusal(&first[0]).unwrap().is_none());
        crate::store::testutil::overwrite(&store, "jobs", "initiated_by", job, "mallory");
        let second = store.claim_items("w", 1, None).unwrap();
        let refusal = engine.job_refusal(&second[0]).unwrap().expect("refused");
        assert!(
            refusal.reason.contains("initiated_by is \"mallory\""),
            "{}",
            refusal.reason
        );
        assert_eq!(refusal.signed_initiator.as_deref(), Some("alice"));
        let audit = store.audit_entries(&AuditFilter::default()).unwrap();
        let refused = audit
            .iter()
            .find(|e| e.action == "job-refused")
            .expect("audited");
        assert_eq!(refused.job, Some(job));
        assert_eq!(refused.actor, "svc");
    }

    /// Two items of one edited job checked at once (two executor tasks) give one refusal
    /// record, not one per racer.
    #[test]
    fn a_refusal_is_audited_once_however_many_items_are_checked_at_once() {
        for _ in 0..10 {
            let (_dir, store, engine) = engine_on_store(true, "svc");
            let job = alices_job(&store, NewAudit::default(), &["a@corp.test", "b@corp.test"]);
            crate::store::testutil::overwrite(&store, "jobs", "initiated_by", job, "mallory");
            let claimed = store.claim_items("w", 2, None).unwrap();
            assert_eq!(claimed.len(), 2);
            let start = Arc::new(std::sync::Barrier::new(2));
            let racers: Vec<_> = claimed
                .into_iter()
                .map(|c| {
                    let (engine, start) = (Arc::clone(&engine), Arc::clone(&start));
                    std::thread::spawn(move || {
                        start.wait();
                        engine.job_refusal(&c).unwrap().is_some()
                    })
                })
                .collect();
            for r in racers {
                assert!(r.join().unwrap(), "both items refused");
            }
            let refusals = store
                .audit_entries(&AuditFilter::default())
                .unwrap()
                .into_iter()
                .filter(|e| e.action == "job-refused")
                .count();
            assert_eq!(refusals, 1);
        }
    }

    #[test]
    fn without_a_key_jobs_are_not_checked() {
        let (_dir, store, engine) = engine_on_store(false, "alice");
        alices_job(&store, NewAudit::default(), &["a@corp.test"]);
        let claimed = store.claim_items("w", 1, None).unwrap();
        assert!(engine.job_refusal(&claimed[0]).unwrap().is_none());
    }
}
