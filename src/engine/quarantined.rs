//! A quarantined copy stays its recipient's. The quarantine mailbox is never a target of its
//! own (the planner settles it not actionable), but a hard-delete of a recipient whose copy an
//! earlier job quarantined follows that copy there and acts on it under the recipient's hold:
//! a held custodian's copy is retained, never destroyed. Only copies a job recorded moving out
//! of this recipient's mailbox are reached, never another recipient's.

use super::Engine;
use super::executor::Lease;
use super::item::Interrupted;
use crate::backends::{Backend, BackendError, Destination, ErrorKind, MailboxRef};
use crate::model::{Action, Location, Placement};
use crate::store::Claimed;

/// What a hard-delete did to a recipient's quarantined copies.
pub(super) struct QuarantinedDelete {
    /// Placements in the quarantine mailbox (`mailbox` is the quarantine mailbox).
    pub placements: Vec<Placement>,
    /// Some copy was acted on in this attempt (else an earlier attempt did it).
    pub acted: bool,
    /// The mail system kept a copy for the recipient's hold.
    pub retained: bool,
}

fn internal(e: impl std::fmt::Display) -> BackendError {
    BackendError::new(ErrorKind::Internal, e.to_string())
}

impl Engine {
    /// Hard-delete the copies jobs quarantined out of `mailbox`, acting through the quarantine
    /// mailbox under `mailbox`'s hold. `None` when this recipient has no quarantined copy on
    /// record. `placements` are the item's so far (an interrupted attempt of this path).
    pub(super) async fn hard_delete_quarantined(
        &self,
        backend: &dyn Backend,
        mailbox: &MailboxRef,
        c: &Claimed,
        placements: &[Placement],
        lease: &Lease,
    ) -> Result<Option<QuarantinedDelete>, Interrupted> {
        let item = &c.item;
        let stopped = |e: BackendError, placements: &[Placement], acted: bool| {
            Interrupted::new(e, placements, acted)
        };
        let Destination::Mailbox {
            mailbox: quarantine,
            folder,
        } = backend
            .destination(mailbox, Action::Quarantine)
            .await
            .map_err(|e| stopped(e, placements, false))?
        else {
            return Ok(None);
        };
        let recorded: Vec<Location> = self
            .store
            .restorable_items(Some(&item.message_id), None)
            .map_err(|e| stopped(internal(e), placements, false))?
            .into_iter()
            .filter(|i| i.tenant == item.tenant && i.mailbox == mailbox.address)
            .flat_map(|i| i.placements)
            .filter(|p| p.to_mailbox.as_deref() == Some(quarantine.as_str()))
            .filter_map(|p| p.to)
            .collect();
        if recorded.is_empty() && placements.is_empty() {
            return Ok(None);
        }
        // The copy carries its custodian's hold, not the quarantine mailbox's.
        let holder = MailboxRef {
            address: quarantine.clone(),
            on_hold: mailbox.on_hold,
        };
        let per_recipient = self
            .config
            .tenant(&item.tenant)
            .is_some_and(|t| t.quarantine_folder_per_recipient);
        // In a shared quarantine folder only the recorded copies are this recipient's; in its
        // own folder a copy renamed since (flags changed) is still its.
        let copies: Vec<Location> = backend
            .locate(&holder, &item.message_id)
            .await
            .map_err(|e| stopped(e, placements, false))?
            .into_iter()
            .filter(|l| l.folder == folder)
            .filter(|l| per_recipient || recorded.iter().any(|r| r.provider_id == l.provider_id))
            .collect();
        let mut placements = placements.to_vec();
        for copy in &copies {
            if !placements
                .iter()
                .any(|p| p.from.provider_id == copy.provider_id)
            {
                placements.push(Placement {
                    mailbox: quarantine.clone(),
                    from: copy.clone(),
                    to_mailbox: None,
                    to: None,
                });
            }
        }
        if copies.is_empty() {
            return Ok((!placements.is_empty()).then_some(QuarantinedDelete {
                placements,
                acted: false,
                retained: false,
            }));
        }
        // The same fence as every other act: where the copies were is written down first, and
        // only while this worker still holds the claim.
        if !self
            .store
            .record_placements(item.id, &c.worker, &placements)
            .map_err(|e| stopped(internal(e), &placements, false))?
        {
            return Err(Interrupted::fenced(
                internal("claim taken over by another worker"),
                &placements,
                false,
            ));
        }
        let mut retained = false;
        let mut acted = false;
        for copy in &copies {
            self.take_evidence(backend, &holder, c, copy)
                .await
                .map_err(|e| stopped(e, &placements, acted))?;
            self.fence(c, lease, &placements, acted)?;
            let applied = backend
                .apply(&holder, copy, Action::HardDelete)
                .await
                .map_err(|e| stopped(e, &placements, acted))?;
            acted = true;
            retained |= applied.retained_by_hold;
            if let Some(p) = placements
                .iter_mut()
                .find(|p| p.from.provider_id == copy.provider_id)
            {
                p.to = applied.to;
                p.to_mailbox = applied.to_mailbox.or_else(|| Some(quarantine.clone()));
            }
        }
        Ok(Some(QuarantinedDelete {
            placements,
            acted: true,
            retained,
        }))
    }
}
