//! Acting on one claimed item: locate, record intent, act, record the result.
//!
//! Every step is safe to repeat. The copies are located again on every attempt, where they
//! were is written down before any act, and a copy already at its destination is not acted on
//! again: an item resumed after a crash ends `already-in-destination`, never acted on twice.

use std::sync::Arc;

use super::executor::Breaker;
use super::retry::backoff;
use super::{Engine, EngineError};
use crate::backends::{Backend, BackendError, ErrorKind, MailboxRef};
use crate::model::{
    Action, DeliveryState, FailReason, ItemOutcome, ItemState, JobKind, Location, Placement,
};
use crate::store::{Claimed, ItemFinish, NewAudit, now_millis};

/// How a processed item left the worker.
pub(super) enum Step {
    Finished,
    Retried,
}

/// What an attempt came to before it is recorded.
struct Result_ {
    outcome: ItemOutcome,
    state: ItemState,
    error: Option<String>,
    placements: Vec<Placement>,
    delivery: Option<(DeliveryState, Option<String>)>,
}

impl Result_ {
    fn done(
        outcome: ItemOutcome,
        placements: Vec<Placement>,
        delivery: Option<(DeliveryState, Option<String>)>,
    ) -> Self {
        Result_ {
            outcome,
            state: ItemState::Done,
            error: None,
            placements,
            delivery,
        }
    }

    fn failed(reason: FailReason, detail: &str, placements: Vec<Placement>) -> Self {
        Result_ {
            outcome: ItemOutcome::Failed,
            state: ItemState::Failed,
            error: Some(format!("{}: {detail}", reason.as_str())),
            placements,
            delivery: Some((DeliveryState::Failed, None)),
        }
    }
}

/// A backend failure during an attempt, with the placements recorded so far.
struct Interrupted {
    error: BackendError,
    placements: Vec<Placement>,
}

impl Engine {
    pub(super) async fn process(
        &self,
        c: &Claimed,
        breaker: &Breaker,
    ) -> Result<Step, EngineError> {
        let item = &c.item;
        let mailbox = MailboxRef {
            address: item.mailbox.clone(),
            on_hold: item.on_hold,
        };
        let tripped = breaker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&item.tenant)
            .cloned();
        // An item whose attempts keep ending without a result (the process killed or the task
        // failing each time) must not loop forever.
        let exhausted = item.attempts > self.config.engine.max_attempts + 2;
        let attempt = match (self.backend(&item.tenant), tripped) {
            _ if exhausted => Ok(Result_::failed(
                FailReason::Internal,
                &format!(
                    "abandoned after {} attempts that ended without a result",
                    item.attempts - 1
                ),
                item.placements.clone(),
            )),
            (_, Some(why)) => Ok(Result_::failed(
                FailReason::AuthFailed,
                &why,
                item.placements.clone(),
            )),
            (Err(why), None) => Ok(Result_::failed(
                FailReason::Unavailable,
                &why,
                item.placements.clone(),
            )),
            (Ok(backend), None) => {
                let backend = Arc::clone(backend);
                match c.kind {
                    JobKind::Restore => self.restore_copies(backend.as_ref(), &mailbox, c).await,
                    JobKind::Retract | JobKind::Sweep => {
                        self.remediate(backend.as_ref(), &mailbox, c).await
                    }
                }
            }
        };
        let result = match attempt {
            Ok(r) => r,
            Err(Interrupted { error, placements }) => {
                match self.after_error(c, &error, placements, breaker)? {
                    Some(r) => r,
                    None => return Ok(Step::Retried),
                }
            }
        };
        self.record(c, result)?;
        Ok(Step::Finished)
    }

    /// Pull every copy of the item's message out of the mailbox per the job's action.
    async fn remediate(
        &self,
        backend: &dyn Backend,
        mailbox: &MailboxRef,
        c: &Claimed,
    ) -> Result<Result_, Interrupted> {
        let item = &c.item;
        let action = c.action;
        let mut placements = item.placements.clone();
        let interrupted = |error, placements: &Vec<Placement>| Interrupted {
            error,
            placements: placements.clone(),
        };
        let copies = backend
            .locate(mailbox, &item.message_id)
            .await
            .map_err(|e| interrupted(e, &placements))?;
        let destination = backend.destination_folder(mailbox, action);
        let admin_folders = admin_folders(backend, mailbox);
        let mut to_act: Vec<Location> = Vec::new();
        let mut already_there = false;
        for copy in copies {
            let at_destination = destination.as_deref() == Some(copy.folder.as_str());
            let out_of_view = admin_folders.contains(&copy.folder)
                && (action != Action::HardDelete || copy.folder == admin_folders[1]);
            if at_destination || out_of_view {
                already_there = true;
                // A copy an interrupted attempt moved: complete its placement for restore.
                if let Some(p) = placements
                    .iter_mut()
                    .find(|p| p.to.is_none() && p.from.folder != copy.folder)
                {
                    p.to = Some(copy);
                }
                continue;
            }
            if !placements
                .iter()
                .any(|p| p.from.provider_id == copy.provider_id)
            {
                placements.push(Placement {
                    mailbox: mailbox.address.clone(),
                    from: copy.clone(),
                    to_mailbox: None,
                    to: None,
                });
            }
            to_act.push(copy);
        }
        if to_act.is_empty() {
            if action == Action::Quarantine {
                self.find_quarantined(backend, mailbox, &item.message_id, &mut placements)
                    .await
                    .map_err(|e| interrupted(e, &placements))?;
            }
            // Quarantined earlier: the copy is still this recipient's, under its hold.
            if action == Action::HardDelete
                && !already_there
                && placements.iter().all(|p| p.mailbox != mailbox.address)
                && let Some(q) = self
                    .hard_delete_quarantined(backend, mailbox, c, &placements)
                    .await
                    .map_err(|e| interrupted(e, &placements))?
            {
                return Ok(quarantined_result(self, q));
            }
            // Moved by an interrupted attempt of this item, or by someone before it.
            return Ok(if !placements.is_empty() || already_there {
                let delivery = self.retracted_state(&placements);
                Result_::done(ItemOutcome::AlreadyInDestination, placements, delivery)
            } else {
                Result_::done(
                    ItemOutcome::NotFound,
                    placements,
                    Some((DeliveryState::NotFound, None)),
                )
            });
        }
        let still_ours = self
            .store
            .record_placements(item.id, &c.worker, &placements)
            .map_err(|e| {
                interrupted(
                    BackendError::new(ErrorKind::Internal, e.to_string()),
                    &placements,
                )
            })?;
        if !still_ours {
            // Another worker took this item over (we were presumed dead): it acts, not us.
            // Every write below is guarded by the claim, so this attempt records nothing.
            let taken =
                BackendError::new(ErrorKind::Internal, "claim taken over by another worker");
            return Err(interrupted(taken, &placements));
        }
        let mut retained = false;
        for copy in &to_act {
            if action == Action::HardDelete {
                self.take_evidence(backend, mailbox, c, copy)
                    .await
                    .map_err(|e| interrupted(e, &placements))?;
            }
            match backend.apply(mailbox, copy, action).await {
                Ok(applied) => {
                    retained |= applied.retained_by_hold;
                    if let Some(p) = placements
                        .iter_mut()
                        .find(|p| p.from.provider_id == copy.provider_id)
                    {
                        p.to = applied.to;
                        p.to_mailbox = applied.to_mailbox;
                    }
                }
                // The copy changed under us (read, so renamed; moved by the user or another
                // job): forget this placement and locate again on the next attempt.
                Err(e) if e.kind == ErrorKind::Gone => {
                    placements.retain(|p| p.from.provider_id != copy.provider_id);
                    return Err(interrupted(e, &placements));
                }
                Err(e) => return Err(interrupted(e, &placements)),
            }
        }
        let delivery = self.retracted_state(&placements);
        let mut result = if placements.is_empty() {
            Result_::done(
                ItemOutcome::NotFound,
                placements,
                Some((DeliveryState::NotFound, None)),
            )
        } else {
            Result_::done(ItemOutcome::Remediated, placements, delivery)
        };
        if retained {
            result.error = Some(
                "retained by hold: removed from the user's view, kept for the legal hold".into(),
            );
        }
        Ok(result)
    }

    /// Complete the placements an interrupted quarantine moved but did not record, from the
    /// copies in this recipient's quarantine folder, so that restore can still find them.
    async fn find_quarantined(
        &self,
        backend: &dyn Backend,
        mailbox: &MailboxRef,
        message_id: &str,
        placements: &mut [Placement],
    ) -> Result<(), BackendError> {
        if placements.iter().all(|p| p.to.is_some()) {
            return Ok(());
        }
        let Some((quarantine, folder)) = backend.quarantine_destination(mailbox) else {
            return Ok(());
        };
        let holder = MailboxRef {
            address: quarantine.clone(),
            on_hold: false,
        };
        // Copies another item (another recipient in a shared folder) already accounts for.
        let recorded = self
            .store
            .recorded_destinations(&quarantine, message_id)
            .map_err(|e| BackendError::new(ErrorKind::Internal, e.to_string()))?;
        let mut found: Vec<Location> = backend
            .locate(&holder, message_id)
            .await?
            .into_iter()
            .filter(|l| l.folder == folder)
            .filter(|l| !recorded.contains(&l.provider_id))
            .collect();
        for p in placements.iter_mut().filter(|p| p.to.is_none()) {
            let Some(copy) = found.pop() else { break };
            p.to = Some(copy);
            p.to_mailbox = Some(quarantine.clone());
        }
        Ok(())
    }

    /// The delivery state after a pull, with where the copies are now.
    fn retracted_state(&self, placements: &[Placement]) -> Option<(DeliveryState, Option<String>)> {
        let folders: Vec<String> = placements
            .iter()
            .map(|p| match (&p.to, &p.to_mailbox) {
                (Some(to), Some(other)) => format!("{other}/{}", to.folder),
                (Some(to), None) => to.folder.clone(),
                (None, _) => "(deleted)".into(),
            })
            .collect();
        Some((
            DeliveryState::Retracted,
            (!folders.is_empty()).then(|| folders.join(",")),
        ))
    }

    /// Keep the raw message and its SHA-256 before a hard-delete; without it, nothing is deleted.
    pub(super) async fn take_evidence(
        &self,
        backend: &dyn Backend,
        mailbox: &MailboxRef,
        c: &Claimed,
        copy: &Location,
    ) -> Result<(), BackendError> {
        let raw = backend.fetch_raw(mailbox, copy).await?;
        self.store
            .add_evidence(
                c.item.id,
                &c.item.tenant,
                &mailbox.address,
                &c.item.message_id,
                &copy.folder,
                &raw,
            )
            .map_err(|e| {
                BackendError::new(
                    ErrorKind::Internal,
                    format!("evidence copy not stored, nothing deleted: {e}"),
                )
            })?;
        Ok(())
    }

    /// Put every copy a retraction moved back where it was.
    async fn restore_copies(
        &self,
        backend: &dyn Backend,
        mailbox: &MailboxRef,
        c: &Claimed,
    ) -> Result<Result_, Interrupted> {
        let placements = c.item.placements.clone();
        let (mut restored, mut already) = (0, 0);
        for p in &placements {
            let Some(current) = &p.to else { continue };
            let current_mailbox = p.to_mailbox.as_deref().unwrap_or(&mailbox.address);
            match backend
                .put_back(mailbox, current_mailbox, current, &p.from)
                .await
            {
                Ok(_) => restored += 1,
                Err(e) if e.kind == ErrorKind::Gone => {
                    let interrupted = |error| Interrupted {
                        error,
                        placements: placements.clone(),
                    };
                    // Renamed where it lies (read in Junk, flagged in quarantine): find it
                    // in the same folder again and put that copy back.
                    let holder = MailboxRef {
                        address: current_mailbox.to_string(),
                        on_hold: mailbox.on_hold,
                    };
                    let moved = backend
                        .locate(&holder, &c.item.message_id)
                        .await
                        .map_err(interrupted)?
                        .into_iter()
                        .find(|l| l.folder == current.folder);
                    if let Some(now) = moved {
                        backend
                            .put_back(mailbox, current_mailbox, &now, &p.from)
                            .await
                            .map_err(interrupted)?;
                        restored += 1;
                        continue;
                    }
                    // Put back by an interrupted attempt of this item.
                    let copies = backend
                        .locate(mailbox, &c.item.message_id)
                        .await
                        .map_err(interrupted)?;
                    if copies.iter().any(|l| l.folder == p.from.folder) {
                        already += 1;
                    }
                }
                Err(error) => return Err(Interrupted { error, placements }),
            }
        }
        let folder = placements.first().map(|p| p.from.folder.clone());
        Ok(if restored > 0 {
            Result_::done(
                ItemOutcome::Restored,
                placements,
                Some((DeliveryState::Restored, folder)),
            )
        } else if already > 0 {
            Result_::done(
                ItemOutcome::AlreadyInDestination,
                placements,
                Some((DeliveryState::Restored, folder)),
            )
        } else {
            Result_::done(ItemOutcome::NotFound, placements, None)
        })
    }

    /// Decide what a backend failure means: a final result, or `None` after requeueing.
    fn after_error(
        &self,
        c: &Claimed,
        error: &BackendError,
        placements: Vec<Placement>,
        breaker: &Breaker,
    ) -> Result<Option<Result_>, EngineError> {
        let item = &c.item;
        let detail = error.detail.as_str();
        let final_reason = match error.kind {
            ErrorKind::NoSuchMailbox => {
                let mut r = Result_::done(ItemOutcome::NotActionable, placements, None);
                r.error = Some(format!("no such mailbox: {detail}"));
                return Ok(Some(r));
            }
            ErrorKind::AuthFailed => {
                breaker.lock().unwrap_or_else(|e| e.into_inner()).insert(
                    item.tenant.clone(),
                    format!("credentials refused earlier in this run: {detail}"),
                );
                FailReason::AuthFailed
            }
            ErrorKind::PermissionDenied => FailReason::PermissionDenied,
            ErrorKind::OverQuota => FailReason::OverQuota,
            ErrorKind::Invalid | ErrorKind::Internal => FailReason::Internal,
            ErrorKind::Throttled
            | ErrorKind::Timeout
            | ErrorKind::Unavailable
            | ErrorKind::Gone => {
                if item.attempts < self.config.engine.max_attempts {
                    let delay = backoff(
                        self.config.engine.backoff_ms,
                        item.attempts,
                        error.retry_after,
                    );
                    if error.kind == ErrorKind::Throttled {
                        let note = format!(
                            "{} throttled: retrying in {:.1}s",
                            item.tenant,
                            delay.as_secs_f64()
                        );
                        self.store.set_throttle_note(item.job_id, Some(&note))?;
                    }
                    self.store
                        .record_placements(item.id, &c.worker, &placements)?;
                    self.store.requeue_item(
                        item.id,
                        &c.worker,
                        now_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
                        &format!("attempt {}: {detail}", item.attempts),
                    )?;
                    return Ok(None);
                }
                match error.kind {
                    ErrorKind::Throttled => FailReason::ThrottledOut,
                    ErrorKind::Timeout => FailReason::Timeout,
                    _ => FailReason::Unavailable,
                }
            }
        };
        let detail = if final_reason.retryable() {
            format!("{detail} (after {} attempts)", item.attempts)
        } else {
            detail.to_string()
        };
        Ok(Some(Result_::failed(final_reason, &detail, placements)))
    }

    /// Write the result, the log delivery it changes and its audit record in one transaction.
    fn record(&self, c: &Claimed, r: Result_) -> Result<(), EngineError> {
        let item = &c.item;
        let moves: Vec<String> = r
            .placements
            .iter()
            .map(|p| {
                let to = match (&p.to, &p.to_mailbox) {
                    (Some(to), Some(other)) => format!("{other}/{}", to.folder),
                    (Some(to), None) => to.folder.clone(),
                    (None, _) => "(deleted)".into(),
                };
                match c.kind {
                    JobKind::Restore => format!("{to} -> {}", p.from.folder),
                    _ => format!("{} -> {to}", p.from.folder),
                }
            })
            .collect();
        let mut detail = moves.join(", ");
        if let Some(e) = &r.error {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(e);
        }
        detail.push_str(&format!("; executed by {}", self.actor.login));
        let audit = NewAudit {
            actor: c.initiated_by.clone(),
            ssh_from: None,
            role: "engine".into(),
            action: c.action.to_string(),
            target: format!("{} {}", item.mailbox, item.message_id),
            reason: c.reason.clone(),
            outcome: r.outcome.as_str().into(),
            job: Some(item.job_id),
            detail: Some(detail),
        };
        let delivery = match (item.log_message, r.delivery) {
            (Some(message), Some((state, folder))) => {
                Some((message, item.mailbox.clone(), state, folder))
            }
            _ => None,
        };
        let recorded = self.store.finish_item(&ItemFinish {
            item: item.id,
            worker: c.worker.clone(),
            state: r.state,
            outcome: r.outcome,
            error: r.error,
            placements: r.placements,
            delivery,
            audit,
        })?;
        if !recorded {
            tracing::warn!(
                item = item.id,
                "result dropped: the claim was taken over by another worker"
            );
        }
        Ok(())
    }
}

/// The backend's folders that are already out of the user's view: [soft-delete, hold].
fn admin_folders(backend: &dyn Backend, mailbox: &MailboxRef) -> Vec<String> {
    let held = MailboxRef {
        on_hold: true,
        ..mailbox.clone()
    };
    [
        backend.destination_folder(mailbox, Action::SoftDelete),
        backend.destination_folder(&held, Action::HardDelete),
    ]
    .into_iter()
    .map(|f| f.unwrap_or_default())
    .collect()
}

/// The result of a hard-delete that followed the recipient's copy into quarantine.
fn quarantined_result(engine: &Engine, q: super::quarantined::QuarantinedDelete) -> Result_ {
    let delivery = engine.retracted_state(&q.placements);
    let outcome = if q.acted {
        ItemOutcome::Remediated
    } else {
        ItemOutcome::AlreadyInDestination
    };
    let mut result = Result_::done(outcome, q.placements, delivery);
    if q.retained {
        result.error =
            Some("retained by hold: removed from the user's view, kept for the legal hold".into());
    }
    result
}
