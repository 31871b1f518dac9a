//! Acting on one claimed item: locate, record intent, act, record the result.
//!
//! Every step is safe to repeat. The copies are located again on every attempt, where they
//! were is written down before any act, and a copy already at its destination is not acted on
//! again: an item resumed after a crash ends `already-in-destination`, never acted on twice.

use std::sync::Arc;

use super::executor::Lease;
use super::retry::backoff;
use super::{Engine, EngineError};
use crate::backends::{Backend, BackendError, Destination, ErrorKind, MailboxRef};
use crate::model::{
    Action, DeliveryState, FailReason, ItemOutcome, ItemState, JobKind, Location, Placement,
};
use crate::store::{Claimed, ItemFinish, NewAudit, Requeued};

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
    /// Whether this attempt changed a mailbox (audited even if the claim was lost).
    acted: bool,
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
            acted: false,
        }
    }

    fn failed(reason: FailReason, detail: &str, placements: Vec<Placement>) -> Self {
        Result_ {
            outcome: ItemOutcome::Failed,
            state: ItemState::Failed,
            error: Some(format!("{}: {detail}", reason.as_str())),
            placements,
            delivery: Some((DeliveryState::Failed, None)),
            acted: false,
        }
    }
}

/// A backend failure during an attempt, with the placements recorded so far.
pub(super) struct Interrupted {
    error: BackendError,
    placements: Vec<Placement>,
    /// Whether this attempt had already changed a mailbox before it stopped.
    acted: bool,
    /// Stopped by the fence: the claim may no longer be ours, so nothing more is done.
    fenced: bool,
}

impl Interrupted {
    pub(super) fn new(error: BackendError, placements: &[Placement], acted: bool) -> Self {
        Interrupted {
            error,
            placements: placements.to_vec(),
            acted,
            fenced: false,
        }
    }

    /// Stopped by the fence: the claim is no longer (or may no longer be) this worker's.
    pub(super) fn fenced(error: BackendError, placements: &[Placement], acted: bool) -> Self {
        Interrupted {
            fenced: true,
            ..Interrupted::new(error, placements, acted)
        }
    }
}

impl Engine {
    pub(super) async fn process(&self, c: &Claimed, lease: &Lease) -> Result<Step, EngineError> {
        let item = &c.item;
        if let Some(refusal) = self.job_refusal(c)? {
            // Named after the initiator the service signed, never the edited row's.
            let mut signed = c.clone();
            if let Some(who) = refusal.signed_initiator {
                signed.initiated_by = who;
            }
            let mut r = Result_::failed(
                FailReason::PermissionDenied,
                &refusal.reason,
                item.placements.clone(),
            );
            // Nothing was done, so the log's delivery state stays as it was.
            r.delivery = None;
            self.record(&signed, r)?;
            return Ok(Step::Finished);
        }
        let mailbox = MailboxRef {
            address: item.mailbox.clone(),
            on_hold: item.on_hold,
        };
        let tripped = self.limits.breaker(&item.tenant, item.job_id)?;
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
                    JobKind::Restore => {
                        self.restore_copies(backend.as_ref(), &mailbox, c, lease)
                            .await
                    }
                    JobKind::Retract | JobKind::Sweep => {
                        self.remediate(backend.as_ref(), &mailbox, c, lease).await
                    }
                }
            }
        };
        let result = match attempt {
            Ok(r) => r,
            Err(stopped) if stopped.fenced => {
                tracing::warn!(item = item.id, "{}", stopped.error.detail);
                self.give_back(c, &stopped, std::time::Duration::ZERO)?;
                return Ok(Step::Retried);
            }
            Err(stopped) => match self.after_error(c, stopped)? {
                Some(r) => r,
                None => return Ok(Step::Retried),
            },
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
        lease: &Lease,
    ) -> Result<Result_, Interrupted> {
        let item = &c.item;
        let action = c.action;
        let mut placements = item.placements.clone();
        let mut acted = false;
        let interrupted =
            |error, placements: &Vec<Placement>| Interrupted::new(error, placements, false);
        let copies = backend
            .locate(mailbox, &item.message_id)
            .await
            .map_err(|e| interrupted(e, &placements))?;
        let ids_survive_move = backend.capabilities().ids_survive_move;
        let mut to_act: Vec<Location> = Vec::new();
        let mut already_there = false;
        for copy in copies {
            let standing = backend
                .standing(mailbox, &copy, action)
                .await
                .map_err(|e| interrupted(e, &placements))?;
            if standing.is_done() {
                already_there = true;
                // A copy an interrupted attempt moved: complete its placement for restore.
                // Where ids survive the move the copy names its placement; elsewhere any
                // placement still waiting takes it (its pre-act handle is gone).
                let pending = |p: &&mut Placement| {
                    p.to.is_none()
                        && p.from != copy
                        && (!ids_survive_move || p.from.provider_id == copy.provider_id)
                };
                if let Some(p) = placements.iter_mut().find(pending) {
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
                    .hard_delete_quarantined(backend, mailbox, c, &placements, lease)
                    .await?
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
            return Err(Interrupted {
                fenced: true,
                ..interrupted(taken, &placements)
            });
        }
        let mut retained = false;
        for copy in &to_act {
            let stopped = |e, placements: &Vec<Placement>| Interrupted::new(e, placements, acted);
            if action == Action::HardDelete {
                self.take_evidence(backend, mailbox, c, copy)
                    .await
                    .map_err(|e| stopped(e, &placements))?;
            }
            self.fence(c, lease, &placements, acted)?;
            match backend.apply(mailbox, copy, action).await {
                Ok(applied) => {
                    acted = true;
                    stop_if_asked_by_a_test("after-act");
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
                    return Err(stopped(e, &placements));
                }
                Err(e) => return Err(stopped(e, &placements)),
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
        result.acted = acted;
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
        let Destination::Mailbox {
            mailbox: quarantine,
            folder,
        } = backend.destination(mailbox, Action::Quarantine).await?
        else {
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
        lease: &Lease,
    ) -> Result<Result_, Interrupted> {
        let placements = c.item.placements.clone();
        let (mut restored, mut already) = (0, 0);
        for p in &placements {
            let Some(current) = &p.to else { continue };
            let current_mailbox = p.to_mailbox.as_deref().unwrap_or(&mailbox.address);
            let stopped =
                |error, restored: usize| Interrupted::new(error, &placements, restored > 0);
            self.fence(c, lease, &placements, restored > 0)?;
            match backend
                .put_back(mailbox, current_mailbox, current, &p.from)
                .await
            {
                Ok(_) => {
                    restored += 1;
                    stop_if_asked_by_a_test("after-act");
                }
                Err(e) if e.kind == ErrorKind::Gone => {
                    // Renamed where it lies (read in Junk, flagged in quarantine): find it
                    // in the same folder again and put that copy back.
                    let holder = MailboxRef {
                        address: current_mailbox.to_string(),
                        on_hold: mailbox.on_hold,
                    };
                    let moved = backend
                        .locate(&holder, &c.item.message_id)
                        .await
                        .map_err(|e| stopped(e, restored))?
                        .into_iter()
                        .find(|l| l.folder == current.folder);
                    if let Some(now) = moved {
                        self.fence(c, lease, &placements, restored > 0)?;
                        backend
                            .put_back(mailbox, current_mailbox, &now, &p.from)
                            .await
                            .map_err(|e| stopped(e, restored))?;
                        restored += 1;
                        continue;
                    }
                    // Put back by an interrupted attempt of this item.
                    let copies = backend
                        .locate(mailbox, &c.item.message_id)
                        .await
                        .map_err(|e| stopped(e, restored))?;
                    if copies.iter().any(|l| l.folder == p.from.folder) {
                        already += 1;
                    }
                }
                Err(error) => return Err(stopped(error, restored)),
            }
        }
        let folder = placements.first().map(|p| p.from.folder.clone());
        let mut result = if restored > 0 {
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
        };
        result.acted = restored > 0;
        Ok(result)
    }

    /// The fence before every act on a mailbox: the worker's own monotonic watch says its
    /// lease cannot have lapsed, and the store says the claim is still this worker's and its
    /// lease current. A worker paused past its lease (Ctrl-Z, a VM pause) stops here instead
    /// of acting on items another worker has taken over since.
    pub(super) fn fence(
        &self,
        c: &Claimed,
        lease: &Lease,
        placements: &[Placement],
        acted: bool,
    ) -> Result<(), Interrupted> {
        stop_if_asked_by_a_test("before-act");
        let why = if !lease.may_act() {
            Some("the lease may have lapsed (this worker was paused)")
        } else {
            match self
                .store
                .claim_holds(c.item.id, &c.worker, lease.lease_ms())
            {
                Ok(true) => None,
                Ok(false) => Some("the claim is no longer this worker's"),
                Err(e) => {
                    tracing::warn!("fence: {e}");
                    Some("the claim could not be confirmed")
                }
            }
        };
        match why {
            None => Ok(()),
            Some(why) => Err(Interrupted {
                fenced: true,
                ..Interrupted::new(
                    BackendError::new(
                        ErrorKind::Internal,
                        format!("item {} not acted on: {why}", c.item.id),
                    ),
                    placements,
                    acted,
                )
            }),
        }
    }

    /// Give an interrupted item back to the queue, due `due` from now, with what it recorded. When
    /// the claim is no longer ours (or the job was cancelled meanwhile) and this attempt had
    /// already changed a mailbox, that change is audited here, since no result of ours will be.
    fn give_back(
        &self,
        c: &Claimed,
        stopped: &Interrupted,
        due: std::time::Duration,
    ) -> Result<(), EngineError> {
        let item = &c.item;
        let ours = self
            .store
            .record_placements(item.id, &c.worker, &stopped.placements)?;
        let error = format!("attempt {}: {}", item.attempts, stopped.error.detail);
        let requeued = if ours {
            self.store.requeue_item(item.id, &c.worker, due, &error)?
        } else {
            Requeued::NotOurs
        };
        if stopped.acted && requeued != Requeued::Queued {
            let why = match requeued {
                Requeued::Cancelled => "the job was cancelled before the item could finish",
                _ => {
                    "not recorded as the item's result: its claim had been taken over by another worker"
                }
            };
            let mut audit = self.result_audit(c, &stopped.placements, Some(&error), "interrupted");
            if let Some(d) = audit.detail.as_mut() {
                d.push_str(&format!("; {why}"));
            }
            self.store.audit(&audit)?;
        }
        Ok(())
    }

    /// Decide what a backend failure means: a final result, or `None` after requeueing.
    fn after_error(
        &self,
        c: &Claimed,
        stopped: Interrupted,
    ) -> Result<Option<Result_>, EngineError> {
        let item = &c.item;
        let error = &stopped.error;
        let detail = error.detail.as_str();
        let final_reason = match error.kind {
            ErrorKind::NoSuchMailbox => {
                let mut r = Result_::done(ItemOutcome::NotActionable, stopped.placements, None);
                r.error = Some(format!("no such mailbox: {detail}"));
                r.acted = stopped.acted;
                return Ok(Some(r));
            }
            ErrorKind::AuthFailed => {
                self.limits.open_breaker(
                    &item.tenant,
                    &format!("credentials refused earlier in this job: {detail}"),
                )?;
                FailReason::AuthFailed
            }
            ErrorKind::PermissionDenied => FailReason::PermissionDenied,
            ErrorKind::OverQuota => FailReason::OverQuota,
            ErrorKind::Invalid => FailReason::Invalid,
            ErrorKind::Internal => FailReason::Internal,
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
                    self.give_back(c, &stopped, delay)?;
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
        let mut r = Result_::failed(final_reason, &detail, stopped.placements);
        r.acted = stopped.acted;
        Ok(Some(r))
    }

    /// The audit record of an attempt's result: the moves it made, its error, who ran it.
    fn result_audit(
        &self,
        c: &Claimed,
        placements: &[Placement],
        error: Option<&str>,
        outcome: &str,
    ) -> NewAudit {
        let item = &c.item;
        let moves: Vec<String> = placements
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
        if let Some(e) = error {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(e);
        }
        // The worker (host, pid, start) too: with several services on one store, which
        // host moved a copy is part of what happened.
        detail.push_str(&format!(
            "; executed by {} (worker {})",
            self.actor.login, c.worker
        ));
        NewAudit {
            actor: c.initiated_by.clone(),
            ssh_from: None,
            role: "engine".into(),
            action: c.action.to_string(),
            target: format!("{} {}", item.mailbox, item.message_id),
            reason: c.reason.clone(),
            outcome: outcome.into(),
            job: Some(item.job_id),
            detail: Some(detail),
        }
    }

    /// Write the result, the log delivery it changes and its audit record in one transaction.
    fn record(&self, c: &Claimed, r: Result_) -> Result<(), EngineError> {
        let item = &c.item;
        let audit = self.result_audit(c, &r.placements, r.error.as_deref(), r.outcome.as_str());
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
            acted: r.acted,
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

/// Debug builds only: `RETRACTOR_TEST_STOP_AT=before-act|after-act` makes the process stop
/// itself (SIGSTOP) once, at that point of its first act, so a test can hold a worker paused
/// with claims in hand, let its lease run out and another worker take over, then resume it.
fn stop_if_asked_by_a_test(point: &str) {
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        static STOPPED: AtomicBool = AtomicBool::new(false);
        if std::env::var("RETRACTOR_TEST_STOP_AT").is_ok_and(|v| v == point)
            && !STOPPED.swap(true, Ordering::SeqCst)
        {
            // SAFETY: raise only sends a signal to this process.
            unsafe {
                libc::raise(libc::SIGSTOP);
            }
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
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
