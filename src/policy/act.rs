//! The decider: the loop `retractor serve`, `retractor worker --follow` and an open console
//! run over undecided alert revisions.
//!
//! Exactly once: a revision is claimed in the store before anything is planned, and the
//! decision is written together with the job or approval request it made, fenced on that
//! claim. A decider killed between the two leaves no job behind; its claim is given back
//! (its process is gone) or taken over after the lease, and the next decider starts afresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;

use super::decide::{Facts, Verdict, verdict};
use super::{notify, rails, rules};
use crate::backends::{MailboxRef, ScanFilter};
use crate::engine::{
    Actor, Engine, EngineError, POLICY_ROLE, Plan, RestoreRequest, RetractRequest, decider_id,
    decider_is_dead,
};
use crate::model::{Alert, AlertStatus, LoggedMessage, MessageRecord};
use crate::store::{
    ClaimedRevision, DecisionEffect, DecisionRecord, NewApproval, NewAudit, NewDecision, NewItem,
    NewJob, NewMessage,
};

/// How often a decider with nothing to do looks for revisions other processes stored.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// How often dead deciders' claims are given back and requests past their time expired.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(1);

/// What a decision made, owned until it is written.
pub enum Effect {
    Nothing,
    Job(NewJob, Vec<NewItem>),
    Approval(NewApproval),
}

/// A decision before it is written: what `policy test` prints and the decider stores.
pub struct Outcome {
    pub decision: NewDecision,
    pub effect: Effect,
    /// The plan's per-depth counts, when a plan was made.
    pub by_depth: serde_json::Value,
}

/// One decider: the engine it plans with (the process's) and its claim id.
pub struct Decider {
    engine: Arc<Engine>,
    id: String,
}

/// Run the decider until `stop` turns true (forever without one). Errors of the store end
/// it; a decision that fails is recorded as `failed` and the loop goes on.
pub async fn run_decider(
    engine: Arc<Engine>,
    mut stop: Option<watch::Receiver<bool>>,
) -> Result<(), EngineError> {
    let decider = Decider::new(engine);
    let wake = decider.engine.alerts_arrived();
    let lease = Duration::from_secs(decider.engine.config().engine.lease_secs);
    let mut last_housekeeping: Option<Instant> = None;
    loop {
        if stop.as_ref().is_some_and(|s| *s.borrow()) {
            return Ok(());
        }
        if last_housekeeping.is_none_or(|t| t.elapsed() >= HOUSEKEEPING_EVERY) {
            decider
                .engine
                .store()
                .release_dead_alert_claims(&decider_is_dead)?;
            decider.engine.expire_approvals()?;
            last_housekeeping = Some(Instant::now());
        }
        match decider
            .engine
            .store()
            .claim_alert_revision(&decider.id, lease)?
        {
            Some(claim) => {
                decider.decide(&claim).await?;
            }
            None => {
                if crate::alerts::stop_wake_or_sleep(stop.as_mut(), Some(&wake), IDLE_POLL).await {
                    return Ok(());
                }
            }
        }
    }
}

/// The audit and report spelling of a decision's reason: the alert's source and id.
fn alert_reason(alert: &Alert) -> String {
    format!("{}:{}", alert.source, alert.id)
}

impl Decider {
    pub fn new(engine: Arc<Engine>) -> Decider {
        Decider {
            engine,
            id: decider_id(),
        }
    }

    /// Decide, in this process, every revision waiting now (other deciders' claims are
    /// left alone): what `submissions --wait` returns with. Exactly once, like the loop.
    pub async fn decide_waiting(&self) -> Result<Vec<DecisionRecord>, EngineError> {
        let lease = Duration::from_secs(self.engine.config().engine.lease_secs);
        let mut made = Vec::new();
        while let Some(claim) = self.engine.store().claim_alert_revision(&self.id, lease)? {
            if let Some(record) = self.decide(&claim).await? {
                made.push(record);
            }
        }
        Ok(made)
    }

    /// Decide one claimed revision and write the decision (with its job or request);
    /// `None` when another decider had taken the revision over meanwhile.
    pub async fn decide(
        &self,
        claim: &ClaimedRevision,
    ) -> Result<Option<DecisionRecord>, EngineError> {
        let outcome = match self
            .consider(&claim.alert, Some((claim.number, claim.revision)), false)
            .await
        {
            Ok(outcome) => outcome,
            Err(EngineError::Store(e)) => return Err(EngineError::Store(e)),
            Err(e) => self.failed(&claim.alert, &e.to_string()),
        };
        let effect = match &outcome.effect {
            Effect::Nothing => DecisionEffect::Nothing,
            Effect::Job(job, items) => DecisionEffect::Job(job, items),
            Effect::Approval(a) => DecisionEffect::Approval(a),
        };
        let written = self
            .engine
            .store()
            .decide_alert(claim, &outcome.decision, effect)?;
        if let Some(record) = &written {
            if record.job.is_some() {
                self.engine.job_written();
            }
            tracing::info!(
                alert = record.alert,
                revision = record.revision,
                outcome = %record.outcome,
                "policy decision"
            );
            let policy = &self.engine.config().policy;
            if !policy.notify_command.is_empty() {
                let body =
                    json!({"decision": record, "alert": claim.alert, "by_depth": outcome.by_depth});
                notify::spawn(
                    &policy.notify_command,
                    policy.notify_timeout,
                    body.to_string(),
                );
            }
        }
        Ok(written)
    }

    /// What the policies would do with `alert`; nothing is written unless `dry` is false and
    /// the log lacks the message (a Message-ID search then adds what it found to the log).
    pub async fn consider(
        &self,
        alert: &Alert,
        revision: Option<(i64, i64)>,
        dry: bool,
    ) -> Result<Outcome, EngineError> {
        let config = Arc::clone(self.engine.config());
        let message = self.find_message(alert, dry).await?;
        let tenant = alert
            .tenant
            .clone()
            .or_else(|| message.as_ref().map(|m| m.tenant.clone()));
        let Some(rule) = rules::matching(&config.policy.rules, alert, tenant.as_deref()) else {
            return Ok(self.record(
                alert,
                None,
                "no-action",
                None,
                format!(
                    "no rule matches classification '{}' from '{}'",
                    alert.classification, alert.source
                ),
            ));
        };
        let policy = self.engine.acting_for(Actor {
            login: format!("policy:{}", rule.name),
            ssh_from: None,
            role: POLICY_ROLE,
        });
        if alert.status != AlertStatus::Active {
            return self.restore(&policy, alert, rule, revision).await;
        }
        let Some(message) = message else {
            return Ok(self.record(alert, Some(&rule.name), "no-action", None, format!(
                "{} is not in the message log, and a Message-ID search of the alert's {} recipients found no copy",
                alert.message_id,
                alert.recipients.len()
            )));
        };
        let protected: Vec<String> = message
            .recipients
            .iter()
            .filter(|r| rails::protected(&config.policy, r))
            .cloned()
            .collect();
        let acted = rails::already_acted(self.engine.store(), &message.message_id, rule.action)?;
        // The planner leaves these out of every plan; counted so the decision names the rail.
        let reserved = message
            .recipients
            .iter()
            .filter(|r| self.engine.reserved_mailbox(&message.tenant, r).is_some())
            .count();
        let mut exclude = protected.clone();
        exclude.extend(acted.iter().cloned());
        let request = RetractRequest {
            message: message.id.to_string(),
            recipients: Vec::new(),
            exclude,
            depth: rule.depth,
            action: rule.action,
            reason: Some(alert_reason(alert)),
            max_items: None,
        };
        let plan = policy.plan_retract(&request).await?;
        let facts = Facts {
            delivered_at: Some(message.received_at),
            copies: plan.actionable(),
            mailboxes: plan.mailboxes_reached(),
            protected: protected.len(),
            already_acted: acted.len(),
            reserved,
        };
        let verdict = verdict(rule, &config.policy, &facts, Utc::now());
        let left_out = format!(
            "{} copies in {} mailboxes; {} protected, {} already acted on and {} quarantine or \
             abuse mailboxes left out",
            facts.copies, facts.mailboxes, facts.protected, facts.already_acted, facts.reserved
        );
        let request = serde_json::to_value(&request)
            .map_err(|e| EngineError::BadInput(format!("request: {e}")))?;
        self.outcome(
            &policy, alert, rule, &plan, request, revision, verdict, left_out,
        )
    }

    /// A `cleared` or `false_positive` revision: restore what the alert's jobs pulled (or
    /// ask to, under a confirmation rule; record it, under a passive one).
    async fn restore(
        &self,
        policy: &Engine,
        alert: &Alert,
        rule: &crate::config::Rule,
        revision: Option<(i64, i64)>,
    ) -> Result<Outcome, EngineError> {
        // A rehearsal (`policy test`) has no claimed revision: the alert's earlier revisions,
        // if it was ever received, are found by its source and id.
        let number = match revision {
            Some((number, _)) => Some(number),
            None => self.engine.store().alert_number(&alert.source, &alert.id)?,
        };
        let jobs = match number {
            Some(number) => self.engine.store().jobs_of_alert(number)?,
            None => Vec::new(),
        };
        let restorable: Vec<i64> = jobs
            .into_iter()
            .filter(|j| {
                self.engine
                    .store()
                    .restorable_items(None, Some(*j))
                    .is_ok_and(|items| !items.is_empty())
            })
            .collect();
        let Some(&job) = restorable.first() else {
            return Ok(self.record(
                alert,
                Some(&rule.name),
                "no-action",
                None,
                format!(
                    "{}: nothing this alert pulled is left to restore",
                    alert.status.as_str()
                ),
            ));
        };
        let request = RestoreRequest {
            job: Some(job),
            reason: Some(alert_reason(alert)),
            ..RestoreRequest::default()
        };
        let plan = policy.plan_restore(&request)?;
        let verdict = match rule.mode {
            crate::config::Mode::Confirmation => Verdict::Ask { rail: None },
            crate::config::Mode::Passive | crate::config::Mode::Disabled => Verdict::Record {
                outcome: rule.mode.as_str(),
                rail: None,
            },
            crate::config::Mode::Automatic if plan.actionable() == 0 => Verdict::Record {
                outcome: "no-action",
                rail: None,
            },
            crate::config::Mode::Automatic => Verdict::Pull,
        };
        let what = format!(
            "{}: restore {} copies job {job} pulled",
            alert.status.as_str(),
            plan.actionable()
        );
        let request = serde_json::to_value(&request)
            .map_err(|e| EngineError::BadInput(format!("request: {e}")))?;
        self.outcome(policy, alert, rule, &plan, request, revision, verdict, what)
    }

    #[allow(clippy::too_many_arguments)]
    fn outcome(
        &self,
        policy: &Engine,
        alert: &Alert,
        rule: &crate::config::Rule,
        plan: &Plan,
        request: serde_json::Value,
        revision: Option<(i64, i64)>,
        verdict: Verdict,
        what: String,
    ) -> Result<Outcome, EngineError> {
        let restoring = plan.kind == crate::model::JobKind::Restore;
        let by_depth = json!(plan.by_depth);
        let (outcome, rail, effect) = match verdict {
            Verdict::Pull => {
                let job = policy.job_for(plan)?;
                let outcome = if restoring { "restored" } else { "pulled" };
                (outcome, None, Effect::Job(job, plan.items.clone()))
            }
            Verdict::Ask { rail } => {
                let request = policy.approval_for(plan, request, Some(&rule.name), revision);
                ("requested", rail, Effect::Approval(request))
            }
            Verdict::Record { outcome, rail } => (outcome, rail, Effect::Nothing),
        };
        let detail = match rail {
            Some(rail) => format!("{what}; rail {} fired", rail.as_str()),
            None => what,
        };
        let mut recorded = self.record(
            alert,
            Some(&rule.name),
            outcome,
            rail.map(|r| r.as_str()),
            detail,
        );
        recorded.effect = effect;
        recorded.by_depth = by_depth;
        Ok(recorded)
    }

    /// An outcome that acts on nothing, with its audit record.
    fn record(
        &self,
        alert: &Alert,
        rule: Option<&str>,
        outcome: &str,
        rail: Option<&str>,
        detail: String,
    ) -> Outcome {
        let actor = match rule {
            Some(rule) => format!("policy:{rule}"),
            None => "policy".to_string(),
        };
        Outcome {
            decision: NewDecision {
                rule: rule.map(str::to_string),
                outcome: outcome.to_string(),
                rail: rail.map(str::to_string),
                detail: detail.clone(),
                audit: NewAudit {
                    actor,
                    ssh_from: None,
                    role: POLICY_ROLE.to_string(),
                    action: "policy decision".into(),
                    target: alert.message_id.clone(),
                    reason: Some(alert_reason(alert)),
                    outcome: outcome.to_string(),
                    job: None,
                    detail: Some(match rail {
                        Some(rail) => format!("{detail} (rail: {rail})"),
                        None => detail,
                    }),
                },
            },
            effect: Effect::Nothing,
            by_depth: serde_json::Value::Null,
        }
    }

    fn failed(&self, alert: &Alert, why: &str) -> Outcome {
        self.record(
            alert,
            None,
            "failed",
            None,
            format!("the decision failed: {why}"),
        )
    }

    /// The logged message the alert names (in its tenant, when it names one); if the log
    /// lacks it, a Message-ID search of the alert's recipients' mailboxes, whose finds are
    /// added to the log (unless `dry`) so the pull goes the one way every pull goes.
    async fn find_message(
        &self,
        alert: &Alert,
        dry: bool,
    ) -> Result<Option<LoggedMessage>, EngineError> {
        let store = self.engine.store();
        let logged = store
            .messages_by_message_id(&alert.message_id)?
            .into_iter()
            .find(|m| alert.tenant.as_ref().is_none_or(|t| *t == m.tenant));
        if logged.is_some() || alert.recipients.is_empty() {
            return Ok(logged);
        }
        let config = Arc::clone(self.engine.config());
        let mut found: Vec<(String, String)> = Vec::new();
        let mut first = None;
        for recipient in &alert.recipients {
            let tenant = match &alert.tenant {
                Some(t) => config.tenant(t),
                None => config.tenant_for_address(recipient),
            };
            let Some(tenant) = tenant else { continue };
            let Ok(backend) = self.engine.backend(&tenant.name) else {
                continue;
            };
            let mailbox = MailboxRef {
                address: recipient.clone(),
                on_hold: tenant.on_hold(recipient),
            };
            let filter = ScanFilter {
                message_ids: vec![alert.message_id.clone()],
                ..ScanFilter::default()
            };
            match backend.scan(&mailbox, &filter).await {
                Ok(hits) if !hits.is_empty() => {
                    found.push((tenant.name.clone(), recipient.clone()));
                    if first.is_none() {
                        first = hits.into_iter().next();
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(mailbox = %recipient, "Message-ID search: {e}"),
            }
        }
        let (Some(summary), Some((tenant, _))) = (first, found.first().cloned()) else {
            return Ok(None);
        };
        if dry {
            return Ok(None);
        }
        let record = MessageRecord {
            message_id: alert.message_id.clone(),
            from: summary.from,
            to: found
                .iter()
                .filter(|(t, _)| *t == tenant)
                .map(|(_, r)| r.clone())
                .collect(),
            cc: Vec::new(),
            subject: summary.subject,
            received_at: summary.date.unwrap_or_else(Utc::now),
            disposition: Some(alert.classification.clone()),
            in_reply_to: summary.in_reply_to,
            references: summary.references,
            size: Some(summary.size),
            tenant: Some(tenant.clone()),
            source_id: Some(alert_reason(alert)),
        };
        let recipients = record.to.iter().map(|r| (r.clone(), false)).collect();
        store.insert_messages(&[NewMessage {
            record: &record,
            tenant: &tenant,
            recipients,
        }])?;
        Ok(store
            .messages_by_message_id(&alert.message_id)?
            .into_iter()
            .find(|m| m.tenant == tenant))
    }
}

/// One line of `policy test`: what an alert would do.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Rehearsal {
    pub id: String,
    pub source: String,
    pub message_id: String,
    pub rule: Option<String>,
    pub outcome: String,
    pub rail: Option<String>,
    pub detail: String,
    pub by_depth: serde_json::Value,
}

impl Decider {
    /// What `alert` would do now, rails included; acts on nothing and writes nothing.
    pub async fn rehearse(&self, alert: &Alert) -> Result<Rehearsal, EngineError> {
        let outcome = match self.consider(alert, None, true).await {
            Ok(o) => o,
            Err(EngineError::Store(e)) => return Err(EngineError::Store(e)),
            Err(e) => self.failed(alert, &e.to_string()),
        };
        Ok(Rehearsal {
            id: alert.id.clone(),
            source: alert.source.clone(),
            message_id: alert.message_id.clone(),
            rule: outcome.decision.rule,
            outcome: match outcome.effect {
                // A revision that is not `active` restores what the alert's jobs pulled.
                Effect::Job(..) if alert.status != AlertStatus::Active => "would-restore".into(),
                Effect::Job(..) => "would-pull".into(),
                Effect::Approval(_) => "would-request".into(),
                Effect::Nothing => outcome.decision.outcome,
            },
            rail: outcome.decision.rail,
            detail: outcome.decision.detail,
            by_depth: outcome.by_depth,
        })
    }
}

/// `policy test`: each good line's rehearsal, and the lines refused.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RehearsalReport {
    pub alerts: Vec<Rehearsal>,
    pub rejected: Vec<crate::api::alerts::RejectedLine>,
}
