//! The restore: put pulled copies back, those of a message or all of one job's.

use super::{Confirmation, resolve_ref};
use crate::engine::{Engine, EngineError, Plan};
use crate::model::text::sanitize;

/// Put pulled copies back: those of a message, or all of one job's.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RestoreRequest {
    /// REF of the message whose pulled copies go back (a log id, or a Message-ID).
    #[serde(default)]
    pub message: Option<String>,
    /// The job whose pulled copies go back (wins over `message`).
    #[serde(default)]
    pub job: Option<i64>,
    /// Only these mailboxes (empty: all).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Only the copies pulled by these items (empty: all): what a confirmation showed.
    #[serde(default)]
    pub only_items: Vec<i64>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl RestoreRequest {
    /// What to ask before submitting `plan`.
    pub fn confirmation(&self, plan: &Plan) -> Confirmation {
        Confirmation::for_action(
            plan.action,
            format!(
                "restore {} pulled copies of {}?",
                plan.items.len(),
                sanitize(&plan.target)
            ),
        )
    }
}

impl Engine {
    /// Plan a restore of pulled copies: resolve its REF, then find what can go back. An empty
    /// plan is refused by [`Engine::submit`] (see [`Plan::empty_plan`]).
    pub fn plan_restore(&self, req: &RestoreRequest) -> Result<Plan, EngineError> {
        let message = match (&req.message, req.job) {
            (Some(reference), None) => Some(resolve_ref(&self.store, reference)?),
            _ => None,
        };
        self.plan_restoration(message.as_ref(), req)
    }
}
