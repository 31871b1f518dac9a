//! The one path from a request to a plan, a confirmation and a submission, for every client.
//!
//! Each kind of request (retract, restore, sweep, cancel, index) is plain data (serde), so a
//! client may build it anywhere, send it over a socket, and the engine alone decides what it
//! means: its validation and defaults, the confirmation it needs ([`Confirmation`]: the
//! hard-delete word lives here, once), what an empty plan says ([`EmptyPlan`]) and how it is
//! submitted. The CLI and the console go request -> plan -> confirmation -> submit through
//! these and implement none of the rules themselves.

mod cancel;
mod hunt;
mod index;
mod restore;
mod retract;
mod sweep;

use super::{EngineError, Plan};
use crate::model::text::sanitize;
use crate::model::{Action, JobKind, LoggedMessage};
use crate::store::{RefMatch, Store};

pub use cancel::CancelRequest;
pub use hunt::{HuntHit, MailboxHunt, MailboxHuntFound, WantedIndicator};
pub use index::IndexRequest;
pub use restore::RestoreRequest;
pub use retract::RetractRequest;
pub use sweep::{DEFAULT_SWEEP_MAX_ITEMS, SweepRequest};

/// The word a hard-delete's confirmation must be typed as: nothing brings those copies back.
pub const HARD_DELETE_WORD: &str = "delete";

/// The word `action`'s confirmation must be typed as, if a plain yes is not enough.
pub fn confirmation_word(action: Action) -> Option<&'static str> {
    (action == Action::HardDelete).then_some(HARD_DELETE_WORD)
}

/// What a client must ask before submitting a plan.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Confirmation {
    /// The question, naming the action and the counts (sanitised).
    pub question: String,
    /// A word the user must type; `None`: a plain yes will do.
    pub word: Option<&'static str>,
}

impl Confirmation {
    /// The confirmation of a plan that does `action`.
    pub fn for_action(action: Action, question: String) -> Confirmation {
        Confirmation {
            question,
            word: confirmation_word(action),
        }
    }

    /// Whether `answer` (as typed) confirms: the word exactly when there is one, else
    /// `y` or `yes` in any case.
    pub fn accepts(&self, answer: &str) -> bool {
        let answer = answer.trim();
        match self.word {
            Some(word) => answer == word,
            None => answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes"),
        }
    }

    /// What the user is told to type.
    pub fn prompt(&self) -> String {
        format!("Type '{}' to go ahead:", self.word.unwrap_or("y"))
    }
}

/// What an empty plan means for the client that asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyOutcome {
    /// Nothing to act on is a mistake in the request (exit 2); the engine will not submit it.
    Refused,
    /// An answer, not an error (exit 0): a sweep that found nothing. The CLI still records
    /// the job (evidence that the tenant was searched); the console only says so.
    NothingFound,
}

/// Why a plan acts on nothing, and what that means.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmptyPlan {
    /// Sanitised, naming the target and the plan's notes.
    pub message: String,
    pub outcome: EmptyOutcome,
}

impl Plan {
    /// The empty-plan rule of this plan's kind, if it acts on nothing.
    pub fn empty_plan(&self) -> Option<EmptyPlan> {
        let target = sanitize(&self.target);
        let (message, outcome) = match self.kind {
            JobKind::Restore if self.items.is_empty() => (
                format!(
                    "nothing to restore for {target}: no pulled copies that are not already back \
                     (hard-deleted copies never are; their evidence is kept)"
                ),
                EmptyOutcome::Refused,
            ),
            JobKind::Retract if self.items.is_empty() => (
                format!("nothing to retract for {target}: no copy is planned"),
                EmptyOutcome::Refused,
            ),
            JobKind::Sweep if self.actionable() == 0 => (
                format!("the sweep ({target}) found nothing to act on"),
                EmptyOutcome::NothingFound,
            ),
            _ => return None,
        };
        let notes: String = self
            .notes
            .iter()
            .map(|n| format!("; {}", sanitize(n)))
            .collect();
        Some(EmptyPlan {
            message: format!("{message}{notes}"),
            outcome,
        })
    }

    /// The refusal [`Engine::submit`](super::Engine::submit) gives an empty plan it may not
    /// write, if this is one.
    pub(super) fn refused_as_empty(&self) -> Result<(), EngineError> {
        match self.empty_plan() {
            Some(EmptyPlan {
                message,
                outcome: EmptyOutcome::Refused,
            }) => Err(EngineError::BadInput(message)),
            _ => Ok(()),
        }
    }
}

/// The logged message a REF names (a log id, or a Message-ID logged once), or why none
/// (bad input, exit 2).
pub fn resolve_ref(store: &Store, reference: &str) -> Result<LoggedMessage, EngineError> {
    match store.resolve_ref(reference)? {
        RefMatch::One(m) => Ok(*m),
        RefMatch::None => Err(EngineError::BadInput(format!(
            "no logged message matches REF '{}' (a log id from `search`, or a Message-ID)",
            sanitize(reference)
        ))),
        RefMatch::Several(list) => Err(EngineError::BadInput(format!(
            "REF '{}' matches {} messages; use a log id: {}",
            sanitize(reference),
            list.len(),
            list.iter()
                .map(|m| format!("{} (tenant {})", m.id, m.tenant))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests;
