//! The rails: what wins over every rule. Protected mailboxes and copies an equal or stronger
//! action already pulled are left out of an automatic plan; the delivery window and the blast
//! radius turn a pull into a request (see `decide`). The quarantine and abuse mailboxes are
//! never a target of any plan (the planner leaves them out for every job, not only the
//! policies'); a decision names the rail when they were left out.

use std::collections::BTreeSet;

use crate::config::PolicySettings;
use crate::model::Action;
use crate::store::{Store, StoreError};

/// A rail that fired, as decisions and the audit name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rail {
    /// Delivered before `[policy] window`.
    Window,
    /// More mailboxes than `[policy] max_mailboxes`.
    MaxMailboxes,
    /// A mailbox in `[policy] protect`.
    Protect,
    /// A copy already pulled by an equal or stronger action.
    AlreadyActed,
    /// The quarantine or abuse mailbox: never a target.
    Reserved,
}

impl Rail {
    pub fn as_str(self) -> &'static str {
        match self {
            Rail::Window => "window",
            Rail::MaxMailboxes => "max_mailboxes",
            Rail::Protect => "protect",
            Rail::AlreadyActed => "already-acted",
            Rail::Reserved => "reserved-mailbox",
        }
    }
}

/// How far an action takes a copy out of the user's reach, for "never a weaker action".
pub fn strength(action: Action) -> usize {
    Action::REMEDIATIONS
        .iter()
        .position(|a| *a == action)
        .unwrap_or(0)
}

/// Whether `mailbox` (normalised) is protected.
pub fn protected(rails: &PolicySettings, mailbox: &str) -> bool {
    rails.protect.iter().any(|p| p == mailbox)
}

/// Mailboxes whose copy of `message_id` an equal or stronger action already pulled (and no
/// restore put back): acting there again would repeat or weaken what was done.
pub fn already_acted(
    store: &Store,
    message_id: &str,
    action: Action,
) -> Result<BTreeSet<String>, StoreError> {
    let mut mailboxes = BTreeSet::new();
    let mut jobs = std::collections::HashMap::new();
    for item in store.restorable_items(Some(message_id), None)? {
        let earlier = match jobs.get(&item.job_id) {
            Some(a) => *a,
            None => {
                let a = store.job(item.job_id)?.action;
                jobs.insert(item.job_id, a);
                a
            }
        };
        if strength(earlier) >= strength(action) {
            mailboxes.insert(item.mailbox.clone());
        }
    }
    Ok(mailboxes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_ordered_by_reach() {
        assert!(strength(Action::MoveToJunk) < strength(Action::Trash));
        assert!(strength(Action::Trash) < strength(Action::Quarantine));
        assert!(strength(Action::Quarantine) < strength(Action::HardDelete));
    }
}
