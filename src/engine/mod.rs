//! The remediation engine: the only code that changes a mailbox.
//!
//! Plan, then items, then claim, act, record (DESIGN.md). A request is planned into items and
//! written to the store as a job before anything acts; workers (a console, `retractor worker`,
//! or a command run with `--wait`) claim items, act through a backend and record each result
//! with its audit record in one transaction. RBAC is checked here, so no client can skip it.

mod actor;
mod already_there;
pub mod anchor;
mod approval;
mod evidence;
mod executor;
mod fanout;
mod headers;
mod item;
mod job_check;
mod limits;
mod logload;
mod planner;
mod quarantined;
mod requests;
mod retry;
mod search_cache;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use crate::backends::{self, Backend, MailboxRef};
use crate::config::Config;
use crate::model::{Action, Role};
use crate::store::{NewAudit, Store, StoreError};

pub use actor::{Actor, login_of_uid, ssh_client_address};
pub use approval::{POLICY_ROLE, plan_hash};
pub use evidence::{CopySource, EXPORT_ROLE, EvidenceCopy};
pub use executor::{RunOptions, RunSummary, decider_id, decider_is_dead};
pub use logload::{IndexScan, LOG_LOAD_ROLE, LogLoad};
pub use planner::{DepthCount, Plan};
pub use requests::{
    CancelRequest, Confirmation, DEFAULT_SWEEP_MAX_ITEMS, EmptyOutcome, EmptyPlan,
    HARD_DELETE_WORD, HuntHit, IndexRequest, MailboxHunt, MailboxHuntFound, RestoreRequest,
    RetractRequest, SweepRequest, WantedIndicator, confirmation_word, resolve_ref,
};

/// Build a tenant's backend. Building may wait on a secret command (bounded by its timeout),
/// so on a multi-threaded runtime the worker thread is handed over for the wait.
fn build_backend(tenant: &crate::config::Tenant) -> Result<Arc<dyn Backend>, String> {
    let on_worker_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if on_worker_thread {
        tokio::task::block_in_place(|| backends::for_tenant(tenant))
    } else {
        backends::for_tenant(tenant)
    }
}

/// Why the engine did not do what was asked; each maps to one exit code of the contract.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The actor's role does not allow it (exit 4). Already audited.
    #[error("refused: {0}")]
    Refused(String),
    /// The request itself is wrong: unknown recipient, tenant, job (exit 2).
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A mail system failed while planning (exit 1).
    #[error("{0}")]
    Backend(String),
}

/// A tenant's backend, built the first time it is needed, or why there is none.
type LazyBackend = OnceLock<Result<Arc<dyn Backend>, String>>;

/// The engine for one process: the config, the store and a backend per tenant.
pub struct Engine {
    config: Arc<Config>,
    store: Arc<Store>,
    /// Built on first use, not up front: building one may run a secret command, and one
    /// stuck password manager must not hold up commands that never touch its tenant.
    /// Shared by every engine [`Engine::acting_for`] makes, so a backend is built once.
    backends: Arc<BTreeMap<String, LazyBackend>>,
    actor: Actor,
    /// Conversation searches remembered between plans (the console re-plans on every key).
    /// Shared by the engines [`Engine::acting_for`] makes: a search is only made after the
    /// planner's role check, and a job that moves copies forgets them for everyone.
    conversation_searches: Arc<search_cache::ConversationSearches>,
    /// The process's limits, shared by every run, scan and job of this engine.
    limits: Arc<limits::Limits>,
    /// Told when this process writes a job, so its idle worker claims at once (the service's
    /// worker runs what its callers submit; a poll would add its interval to every job).
    work_arrived: Arc<tokio::sync::Notify>,
    /// Told when this process stores an alert revision, so its decider looks at once.
    alerts_arrived: Arc<tokio::sync::Notify>,
    /// Told when this process stores indicators, so its hunter hunts at once.
    indicators_arrived: Arc<tokio::sync::Notify>,
    /// What this process decided about each job's signature (signing processes only).
    job_verdicts: Arc<job_check::JobVerdicts>,
    anchor_state: Arc<Mutex<anchor::AnchorState>>,
}

impl Engine {
    pub fn new(config: Arc<Config>, store: Arc<Store>, actor: Actor) -> Engine {
        let backends = config
            .tenants
            .keys()
            .map(|name| (name.clone(), OnceLock::new()))
            .collect();
        let limits = Arc::new(limits::Limits::new(&config.engine, Arc::clone(&store)));
        Engine {
            config,
            store,
            backends: Arc::new(backends),
            actor,
            conversation_searches: Arc::default(),
            limits,
            work_arrived: Arc::default(),
            alerts_arrived: Arc::default(),
            indicators_arrived: Arc::default(),
            job_verdicts: Arc::default(),
            anchor_state: Arc::new(anchor::AnchorState::new()),
        }
    }

    /// Replace a tenant's backend (tests drive the engine through instrumented backends).
    pub fn set_backend(&mut self, tenant: &str, backend: Arc<dyn Backend>) {
        let observed = limits::Observed::wrap(backend, tenant, &self.limits);
        Arc::make_mut(&mut self.backends).insert(tenant.to_string(), OnceLock::from(Ok(observed)));
    }

    /// The same engine (config, store, backends, limits) acting for `actor`: the service
    /// makes one per caller, so every audit record and role check names who asked.
    pub fn acting_for(&self, actor: Actor) -> Engine {
        Engine {
            config: Arc::clone(&self.config),
            store: Arc::clone(&self.store),
            backends: Arc::clone(&self.backends),
            actor,
            conversation_searches: Arc::clone(&self.conversation_searches),
            limits: Arc::clone(&self.limits),
            work_arrived: Arc::clone(&self.work_arrived),
            alerts_arrived: Arc::clone(&self.alerts_arrived),
            indicators_arrived: Arc::clone(&self.indicators_arrived),
            job_verdicts: Arc::clone(&self.job_verdicts),
            anchor_state: Arc::clone(&self.anchor_state),
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The backend of a tenant, or why there is none. The first call for a tenant builds it
    /// (and the result, failure included, is kept for the life of the engine).
    pub fn backend(&self, tenant: &str) -> Result<&Arc<dyn Backend>, String> {
        let cell = self
            .backends
            .get(tenant)
            .ok_or_else(|| format!("unknown tenant '{tenant}'"))?;
        cell.get_or_init(|| match self.config.tenant(tenant) {
            Some(config) => build_backend(config)
                .map(|built| limits::Observed::wrap(built, tenant, &self.limits)),
            None => Err(format!("unknown tenant '{tenant}'")),
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// Tenants whose backend can be built, in name order (building them if need be).
    pub fn usable_tenants(&self) -> Vec<String> {
        self.backends
            .keys()
            .filter(|t| self.backend(t).is_ok())
            .cloned()
            .collect()
    }

    /// The mailboxes of a tenant: the configured list, else the backend's directory.
    pub async fn tenant_mailboxes(&self, tenant: &str) -> Result<Vec<MailboxRef>, EngineError> {
        let config = self
            .config
            .tenant(tenant)
            .ok_or_else(|| EngineError::BadInput(format!("unknown tenant '{tenant}'")))?;
        let names = if config.mailboxes.is_empty() {
            let backend = self.backend(tenant).map_err(EngineError::Backend)?;
            backend
                .list_mailboxes()
                .await
                .map_err(|e| EngineError::Backend(format!("tenant '{tenant}': {e}")))?
        } else {
            config.mailboxes.clone()
        };
        Ok(names
            .into_iter()
            .map(|address| MailboxRef {
                on_hold: config.on_hold(&address),
                address,
            })
            .collect())
    }

    /// Check the actor may run `action`; a refusal is audited and returned.
    pub fn authorize(&self, action: Action, sweep: bool, target: &str) -> Result<(), EngineError> {
        let role = self.actor.role;
        let allowed = role.may(action) && (!sweep || role.may_sweep());
        if allowed {
            return Ok(());
        }
        let needed = if sweep && !role.may_sweep() {
            Role::Responder
        } else {
            action.required_role()
        };
        let what = if sweep {
            format!("sweep with {action}")
        } else {
            action.to_string()
        };
        self.store.audit(&NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: role.to_string(),
            action: if sweep {
                "sweep".into()
            } else {
                action.to_string()
            },
            target: target.to_string(),
            outcome: "refused".into(),
            detail: Some(format!("role {role} may not {what}; needs {needed}")),
            ..NewAudit::default()
        })?;
        Err(EngineError::Refused(format!(
            "{} has role {role}, which may not {what} (needs {needed} or above)",
            self.actor.login
        )))
    }

    /// The audit record of a request by this engine's actor.
    fn request_audit(
        &self,
        action: &str,
        target: &str,
        reason: Option<&str>,
        detail: String,
    ) -> NewAudit {
        NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: self.actor.role.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            reason: reason.map(str::to_string),
            outcome: "queued".into(),
            job: None,
            detail: Some(detail),
        }
    }

    /// Refuse (audited, exit 4) a restore of jobs that still have items queued or claimed:
    /// their copies may still move (an act in flight, a retry due), so a restore planned now
    /// would miss some of them or race the engine acting on them.
    fn refuse_restore_while_in_flight(
        &self,
        jobs: &BTreeSet<i64>,
        target: &str,
    ) -> Result<(), EngineError> {
        let jobs: Vec<i64> = jobs.iter().copied().collect();
        let busy = self.store.unfinished_items(&jobs)?;
        if busy.is_empty() {
            return Ok(());
        }
        let why = busy
            .iter()
            .map(|(job, queued, claimed)| {
                format!("job {job} still has {claimed} items being acted on and {queued} queued")
            })
            .collect::<Vec<_>>()
            .join("; ");
        let why = format!("{why}; restore once it has finished (or cancel it and wait)");
        self.store.audit(&NewAudit {
            outcome: "refused".into(),
            ..self.request_audit("restore", target, None, why.clone())
        })?;
        Err(EngineError::Refused(format!("restore of {target}: {why}")))
    }
}
