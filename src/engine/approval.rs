//! Four-eyes: requests that wait for a second person, and deciding them.
//!
//! A request stores what was asked (a retraction or a restore request) and the hash of the
//! plan it made. Approving plans it again as the requester and writes the job only if the new
//! plan hashes the same: the approver approved those copies, not whatever the mailboxes hold
//! by then. The requester never decides their own request, and an expired one is decided by
//! nobody; both are checked in the store's one conditional statement as well as here.

use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Actor, Engine, EngineError, Plan, RestoreRequest, RetractRequest, SweepRequest};
use crate::model::{Action, JobKind, Role};
use crate::store::{ApprovalRecord, NewApproval, NewAudit, Settlement, StoreError};

/// The role the policies act with: they may pull (soft- and hard-delete included) but
/// never sweep a tenant or approve anything.
pub const POLICY_ROLE: Role = Role::Responder;

/// The prefix of a policy's actor (`policy:<rule>`).
const POLICY_ACTOR: &str = "policy:";

/// The hash an approval is bound to: the plan's kind, action and the copies it acts on
/// (tenant, mailbox, Message-ID, depth), in a fixed order.
pub fn plan_hash(plan: &Plan) -> String {
    let mut copies: Vec<String> = plan
        .items
        .iter()
        .filter(|i| i.settled.is_none())
        .map(|i| {
            format!(
                "{}\t{}\t{}\t{}\t{:?}",
                i.tenant, i.mailbox, i.message_id, i.depth, i.restores_item
            )
        })
        .collect();
    copies.sort();
    let mut hasher = Sha256::new();
    hasher.update(format!("{}\t{}\n", plan.kind.as_str(), plan.action));
    for copy in copies {
        hasher.update(copy.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// What a request was made from, to plan it again.
enum Asked {
    Retract(RetractRequest),
    Restore(RestoreRequest),
    Sweep(SweepRequest),
}

/// The distinct mailboxes a plan would act on (copies settled at planning time excluded):
/// what `[approvals] required_above` counts. Depth counts would count a mailbox once per
/// depth it appears at.
fn mailboxes_reached(plan: &Plan) -> usize {
    plan.items
        .iter()
        .filter(|i| i.settled.is_none())
        .map(|i| (i.tenant.as_str(), i.mailbox.as_str()))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

impl Engine {
    /// The request `plan` (made from `request`) becomes when it must wait for a second
    /// person; nothing is written.
    pub fn approval_for(
        &self,
        plan: &Plan,
        request: serde_json::Value,
        rule: Option<&str>,
        alert: Option<(i64, i64)>,
    ) -> NewApproval {
        NewApproval {
            alert,
            rule: rule.map(str::to_string),
            kind: plan.kind.as_str().to_string(),
            action: plan.action.to_string(),
            target: plan.target.clone(),
            reason: plan.reason.clone(),
            request: request.to_string(),
            plan_hash: plan_hash(plan),
            by_depth: json!(plan.by_depth),
            mailboxes: plan.mailboxes_reached(),
            requested_by: self.actor.login.clone(),
            expires_in: self.config.approvals.expire,
        }
    }

    /// Why a plan made by hand must wait for a second person under `[approvals]`
    /// (`required_above` mailboxes, `hard_delete`), or `None` when it may run at once.
    /// Policy decisions have their own rails and never come through here.
    pub fn approval_required(&self, plan: &Plan) -> Option<String> {
        let settings = &self.config.approvals;
        if settings.hard_delete && plan.action == Action::HardDelete {
            return Some(
                "[approvals] hard_delete = true: every hard-delete needs a second person".into(),
            );
        }
        let reached = mailboxes_reached(plan);
        match settings.required_above {
            Some(above) if reached as u64 > above => Some(format!(
                "the plan reaches {reached} mailboxes, more than [approvals] required_above = {above}"
            )),
            _ => None,
        }
    }

    /// Hold a plan made by hand from `request` (the engine's JSON of the retract, restore or
    /// sweep request) as an approval request instead of a job; `why` says which setting
    /// holds it. The requester's own right to the job is checked first: a request nobody
    /// could approve into a job is refused now, not after a second person's time.
    pub fn hold_for_approval(
        &self,
        plan: &Plan,
        request: serde_json::Value,
        why: &str,
    ) -> Result<ApprovalRecord, EngineError> {
        self.job_for(plan)?;
        let approval = self.approval_for(plan, request, None, None);
        let audit = NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: self.actor.role.to_string(),
            action: format!("{} {}", plan.kind.as_str(), plan.action),
            target: plan.target.clone(),
            reason: plan.reason.clone(),
            outcome: "awaiting approval".into(),
            job: None,
            detail: Some(format!("{why}; plan {}", approval.plan_hash)),
        };
        let id = self.store.request_approval(&approval, &audit)?;
        Ok(self.store.approval(id)?)
    }

    /// Pending requests (those past their time are marked expired first, and audited).
    pub fn pending_approvals(&self) -> Result<Vec<ApprovalRecord>, EngineError> {
        self.expire_approvals()?;
        Ok(self.store.approvals(Some("pending"))?)
    }

    /// Mark requests past their time expired, each audited.
    pub fn expire_approvals(&self) -> Result<Vec<ApprovalRecord>, EngineError> {
        Ok(self.store.expire_approvals(&|r| NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: self.actor.role.to_string(),
            action: "approval expired".into(),
            target: r.target.clone(),
            reason: r.reason.clone(),
            outcome: "expired".into(),
            job: None,
            detail: Some(format!(
                "approval request {} by {} expired unanswered",
                r.id, r.requested_by
            )),
        })?)
    }

    /// Approve (`approve`) or reject request `id` as this engine's actor. Approving plans the
    /// request again as its requester and writes the job only if the plan is unchanged; a
    /// changed plan voids the request (refused, exit 4: a new request is needed).
    pub async fn decide_approval(
        &self,
        id: i64,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<ApprovalRecord, EngineError> {
        self.expire_approvals()?;
        let record = self.store.approval(id)?;
        let verb = if approve { "approve" } else { "reject" };
        let audit = |outcome: &str, detail: String| NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: self.actor.role.to_string(),
            action: format!("{verb} {} {}", record.kind, record.action),
            target: record.target.clone(),
            reason: reason.map(str::to_string),
            outcome: outcome.to_string(),
            job: None,
            detail: Some(detail),
        };
        let refuse = |why: String| -> Result<ApprovalRecord, EngineError> {
            self.store
                .audit(&audit("refused", format!("approval request {id}: {why}")))?;
            Err(EngineError::Refused(why))
        };
        let needed = self.config.approvals.approver_role;
        if self.actor.role < needed {
            return refuse(format!(
                "{} has role {}; deciding an approval request needs {needed} or above",
                self.actor.login, self.actor.role
            ));
        }
        if record.requested_by == self.actor.login {
            return refuse(format!(
                "{} made request {id}: the requester may not decide their own request",
                self.actor.login
            ));
        }
        if record.state != "pending" {
            return refuse(format!("approval request {id} is {} already", record.state));
        }
        let settle = |settlement, outcome: &str, detail: String| {
            self.store
                .settle_approval(
                    id,
                    &self.actor.login,
                    reason,
                    settlement,
                    &audit(outcome, detail),
                )
                .map_err(|e| match e {
                    StoreError::Invalid(why) => EngineError::Refused(why),
                    other => other.into(),
                })
        };
        if !approve {
            return settle(
                Settlement::Reject,
                "rejected",
                format!("approval request {id} by {} rejected", record.requested_by),
            );
        }
        let requester = self.acting_for(self.requester(&record.requested_by));
        let plan = match requester.asked(&record)? {
            Asked::Retract(r) => requester.plan_retract(&r).await?,
            Asked::Restore(r) => requester.plan_restore(&r)?,
            Asked::Sweep(r) => requester.plan_sweep(&r).await?,
        };
        if plan_hash(&plan) != record.plan_hash {
            let why = format!(
                "approval request {id}: the plan changed since it was requested (now {} copies in {} mailboxes); the approval is void, ask again",
                plan.actionable(),
                plan.mailboxes_reached()
            );
            settle(Settlement::Void, "void", why.clone())?;
            return Err(EngineError::Refused(why));
        }
        let job = requester.job_for(&plan)?;
        let settled = settle(
            Settlement::Approve(&job, &plan.items),
            "approved",
            format!(
                "approval request {id} by {} approved; plan {}",
                record.requested_by, record.plan_hash
            ),
        )?;
        self.job_written();
        Ok(settled)
    }

    /// The actor a request was made by, as it acts when approved: a policy with
    /// [`POLICY_ROLE`], a person with the role `[access]` gives them now.
    fn requester(&self, login: &str) -> Actor {
        let role = if login.starts_with(POLICY_ACTOR) {
            POLICY_ROLE
        } else {
            self.config.access.role_of(login)
        };
        Actor {
            login: login.to_string(),
            ssh_from: None,
            role,
        }
    }

    fn asked(&self, record: &ApprovalRecord) -> Result<Asked, EngineError> {
        let unreadable = |e: serde_json::Error| {
            EngineError::Store(StoreError::Database(format!(
                "approval request {}: its stored request is unreadable: {e}",
                record.id
            )))
        };
        match record.kind.as_str() {
            k if k == JobKind::Restore.as_str() => Ok(Asked::Restore(
                serde_json::from_str(&record.request).map_err(unreadable)?,
            )),
            k if k == JobKind::Sweep.as_str() => Ok(Asked::Sweep(
                serde_json::from_str(&record.request).map_err(unreadable)?,
            )),
            _ => Ok(Asked::Retract(
                serde_json::from_str(&record.request).map_err(unreadable)?,
            )),
        }
    }

    /// Shared handle on the alert wake-up, for the intake and the decider.
    pub fn alerts_arrived(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.alerts_arrived)
    }

    /// Shared handle on the indicator wake-up, for `ioc add|import` and the hunter.
    pub fn indicators_arrived(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.indicators_arrived)
    }

    /// Wake this engine's idle worker (and every engine [`Engine::sharing_signals_of`] it)
    /// when any process commits a job, another host's service included, where the store can
    /// tell (PostgreSQL: LISTEN/NOTIFY). `false` where it cannot: the idle poll finds the job.
    pub fn wake_on_work_elsewhere(&self) -> Result<bool, EngineError> {
        let arrived = Arc::clone(&self.work_arrived);
        Ok(self
            .store
            .watch_for_work(Arc::new(move || arrived.notify_one()))?)
    }

    /// This engine, woken by the same signals as `previous` (a service's reload: the
    /// intakes started with the first engine keep waking the deciders of every later one).
    pub fn sharing_signals_of(mut self, previous: &Engine) -> Engine {
        self.alerts_arrived = Arc::clone(&previous.alerts_arrived);
        self.work_arrived = Arc::clone(&previous.work_arrived);
        self.indicators_arrived = Arc::clone(&previous.indicators_arrived);
        self
    }
}
