//! Copies an earlier job already put where a new retraction would: the plan says so and does
//! not count them as to do.
//!
//! The record is the store's: an item of a retract or sweep job with the same action whose
//! placement moved the copy and that no restore has put back (`restorable_items`). A copy
//! quarantined that way has left the recipient's mailbox, so an item for it could only end
//! `not-found`: it is settled `already-in-destination` when planned. A copy moved within its
//! own mailbox (Junk, Trash, the hold folder) may have been moved back by its user since, so
//! its item stays and the worker looks again; it is only left out of the counts.

use std::collections::{BTreeMap, BTreeSet};

use super::{Engine, EngineError};
use crate::model::{Action, ItemOutcome};
use crate::store::NewItem;

/// A planned copy: (mailbox, Message-ID).
pub(super) type CopyKey = (String, String);

impl Engine {
    /// Mark the planned copies of `items` that an earlier `action` already put where this
    /// plan would, add one note per place ("already in quarantine: 3 (job 12)"), and return
    /// their keys.
    pub(super) fn mark_already_there(
        &self,
        action: Action,
        items: &mut [NewItem],
        notes: &mut Vec<String>,
    ) -> Result<BTreeSet<CopyKey>, EngineError> {
        let mut found: BTreeSet<CopyKey> = BTreeSet::new();
        if matches!(action, Action::Restore | Action::HardDelete) {
            // A restore plans from the pulls themselves; a hard-deleted copy is gone.
            return Ok(found);
        }
        let messages: BTreeSet<&str> = items
            .iter()
            .filter(|i| i.settled.is_none() && !i.message_id.is_empty())
            .map(|i| i.message_id.as_str())
            .collect();
        // (tenant, mailbox, Message-ID) -> (place, job) of the earlier pull.
        let mut pulled: BTreeMap<(String, String, String), (String, i64)> = BTreeMap::new();
        let mut job_actions: BTreeMap<i64, Action> = BTreeMap::new();
        for message in messages {
            for item in self.store.restorable_items(Some(message), None)? {
                let job_action = match job_actions.get(&item.job_id) {
                    Some(a) => *a,
                    None => {
                        let a = self.store.job(item.job_id)?.action;
                        job_actions.insert(item.job_id, a);
                        a
                    }
                };
                if job_action != action {
                    continue;
                }
                let place = if action == Action::Quarantine {
                    "quarantine".to_string()
                } else {
                    item.to_folder().unwrap_or_else(|| action.to_string())
                };
                pulled.insert(
                    (item.tenant, item.mailbox, item.message_id),
                    (place, item.job_id),
                );
            }
        }
        // place -> (copies, jobs)
        let mut by_place: BTreeMap<String, (usize, BTreeSet<i64>)> = BTreeMap::new();
        for item in items.iter_mut().filter(|i| i.settled.is_none()) {
            let key = (
                item.tenant.clone(),
                item.mailbox.clone(),
                item.message_id.clone(),
            );
            let Some((place, job)) = pulled.get(&key) else {
                continue;
            };
            if action == Action::Quarantine {
                item.settled = Some((
                    ItemOutcome::AlreadyInDestination,
                    format!("already in quarantine (job {job}); not moved again"),
                ));
            }
            let entry = by_place.entry(place.clone()).or_default();
            entry.0 += 1;
            entry.1.insert(*job);
            found.insert((item.mailbox.clone(), item.message_id.clone()));
        }
        for (place, (copies, jobs)) in by_place {
            let jobs: Vec<String> = jobs.iter().map(i64::to_string).collect();
            let check = if action == Action::Quarantine {
                ""
            } else {
                "; the job looks again"
            };
            notes.push(format!(
                "already in {place}: {copies} (job {}; not counted as to do{check})",
                jobs.join(", ")
            ));
        }
        Ok(found)
    }
}
