//! The retraction: pull one logged message (and, with depth, its replies and forwards) from
//! its recipients' mailboxes.

use super::{Confirmation, resolve_ref};
use crate::engine::{Engine, EngineError, Plan};
use crate::model::Action;
use crate::model::text::sanitize;

/// Pull one logged message (and, with depth, its descendants) from its recipients' mailboxes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RetractRequest {
    /// REF: a log id, or a Message-ID logged once (the engine resolves it).
    pub message: String,
    /// Narrow the depth-0 recipients to these (empty: every recipient).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Never touch these mailboxes, at any depth.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Replies and forwards followed this many generations down (0: the message only).
    #[serde(default)]
    pub depth: u32,
    pub action: Action,
    #[serde(default)]
    pub reason: Option<String>,
    /// Most copies the retraction may act on (`None`: no cap; its reach is the message's own
    /// recipients, shown in the plan).
    #[serde(default)]
    pub max_items: Option<u64>,
}

impl RetractRequest {
    /// Why this request may not be planned, if it may not (bad input, exit 2).
    fn validate(&self) -> Result<(), EngineError> {
        if self.action == Action::Restore {
            return Err(EngineError::BadInput(
                "--action restore: a retraction pulls copies; put them back with restore".into(),
            ));
        }
        if self.max_items == Some(0) {
            return Err(EngineError::BadInput(
                "--max-items must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl Engine {
    /// Plan a retraction: resolve its REF, check the request, then read the log and search
    /// mailboxes (the conversation search is remembered a while, see
    /// [`Engine::conversation_searches_made`]). Changes nothing.
    pub async fn plan_retract(&self, req: &RetractRequest) -> Result<Plan, EngineError> {
        req.validate()?;
        let root = resolve_ref(&self.store, &req.message)?;
        self.plan_retraction(&root, req).await
    }

    /// What to ask before submitting a retraction's `plan`; hard-delete needs its word.
    pub fn retract_confirmation(
        &self,
        req: &RetractRequest,
        plan: &Plan,
    ) -> Result<Confirmation, EngineError> {
        let message = resolve_ref(&self.store, &req.message)?;
        Ok(Confirmation::for_action(
            plan.action,
            format!(
                "{} '{}' in {} mailboxes ({} copies planned, depth {})?",
                plan.action,
                sanitize(&message.subject),
                plan.mailboxes_reached(),
                plan.actionable(),
                req.depth
            ),
        ))
    }
}
