//! Planning: turning a request into the items of a job, before anything acts.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Engine, EngineError};
use crate::backends::{HeaderSummary, MailboxRef, ScanFilter};
use crate::model::{Action, ItemOutcome, JobItem, JobKind, LoggedMessage, normalize_address};
use crate::store::{NewItem, NewJob};

/// Pull one logged message (and, with depth, its descendants) from its recipients' mailboxes.
#[derive(Clone, Debug)]
pub struct RetractRequest {
    pub message: LoggedMessage,
    /// Narrow the depth-0 recipients to these (empty: every recipient).
    pub recipients: Vec<String>,
    /// Never touch these mailboxes, at any depth.
    pub exclude: Vec<String>,
    pub depth: u32,
    pub action: Action,
    pub reason: Option<String>,
}

/// Put pulled copies back: those of a message, or all of one job's.
#[derive(Clone, Debug)]
pub struct RestoreRequest {
    pub message: Option<LoggedMessage>,
    pub job: Option<i64>,
    /// Only these mailboxes (empty: all).
    pub recipients: Vec<String>,
    pub reason: Option<String>,
}

/// Search every mailbox of a tenant and act on what matches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepRequest {
    pub tenant: String,
    pub message_ids: Vec<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub action: Option<Action>,
    pub reason: Option<String>,
}

/// Messages and mailboxes a depth adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DepthCount {
    pub depth: u32,
    pub messages: u64,
    pub mailboxes: u64,
}

/// A job before it is written: what would be acted on, and the per-depth preview.
#[derive(Clone, Debug)]
pub struct Plan {
    pub kind: JobKind,
    pub action: Action,
    pub target: String,
    pub reason: Option<String>,
    pub items: Vec<NewItem>,
    pub by_depth: Vec<DepthCount>,
    /// Things the user should know (copies that cannot be restored, tenants not reachable).
    pub notes: Vec<String>,
    pub restores_job: Option<i64>,
}

impl Plan {
    /// Items that will actually be acted on (not settled at planning time).
    pub fn actionable(&self) -> usize {
        self.items.iter().filter(|i| i.settled.is_none()).count()
    }
}

/// A (mailbox, message) seen while planning, keyed so each is planned once.
type Key = (String, String);

impl Engine {
    /// Plan a retraction. Reads the log and searches mailboxes; changes nothing.
    pub async fn plan_retract(&self, req: &RetractRequest) -> Result<Plan, EngineError> {
        let root = &req.message;
        // Planning reads mailboxes (the conversation search): it needs the role to act.
        self.authorize(req.action, false, &root.message_id)?;
        let exclude: HashSet<String> = req.exclude.iter().map(|a| normalize_address(a)).collect();
        let wanted: Vec<String> = req
            .recipients
            .iter()
            .map(|a| normalize_address(a))
            .collect();
        let deliveries = self.store.deliveries_of(root.id)?;
        if let Some(stranger) = wanted
            .iter()
            .find(|w| !deliveries.iter().any(|(r, _, _)| r == *w))
        {
            return Err(EngineError::BadInput(format!(
                "{stranger} is not a recipient of {} (its recipients: {})",
                root.message_id,
                root.recipients.join(", ")
            )));
        }
        let mut items: BTreeMap<Key, NewItem> = BTreeMap::new();
        let mut notes = Vec::new();
        for (recipient, mailbox, external) in deliveries {
            if (!wanted.is_empty() && !wanted.contains(&recipient)) || exclude.contains(&recipient)
            {
                continue;
            }
            self.add_delivery(
                &mut items, root, 0, &recipient, &mailbox, external, &mut notes,
            );
        }

        let mut seen: HashSet<String> = HashSet::from([root.message_id.clone()]);
        let mut frontier = vec![root.message_id.clone()];
        for depth in 1..=req.depth {
            let mut next: Vec<String> = Vec::new();
            for child in self.store.children(&frontier)? {
                if seen.insert(child.message_id.clone()) {
                    next.push(child.message_id.clone());
                }
                for (recipient, mailbox, external) in self.store.deliveries_of(child.id)? {
                    if !exclude.contains(&recipient) {
                        self.add_delivery(
                            &mut items, &child, depth, &recipient, &mailbox, external, &mut notes,
                        );
                    }
                }
            }
            // Internal forwards and replies often never pass the gateway: ask the mailboxes.
            let filter = ScanFilter {
                replies_to: frontier.clone(),
                skip_admin_folders: true,
                ..ScanFilter::default()
            };
            for (tenant, mailbox, hit) in self.scan_everywhere(&filter, &mut notes).await? {
                // Backends match any References entry (servers search that way); depth
                // follows the direct parent only.
                let parent =
                    crate::model::direct_parent(hit.in_reply_to.as_deref(), &hit.references);
                if exclude.contains(&mailbox.address)
                    || !parent.is_some_and(|p| frontier.contains(&p))
                {
                    continue;
                }
                if seen.insert(hit.message_id.clone()) {
                    next.push(hit.message_id.clone());
                }
                let key = (mailbox.address.clone(), hit.message_id.clone());
                if items.contains_key(&key) {
                    continue;
                }
                let log_message = self.store.logged_id(&hit.message_id, &tenant)?;
                items.insert(
                    key,
                    NewItem {
                        tenant,
                        mailbox: mailbox.address,
                        message_id: hit.message_id,
                        depth,
                        log_message,
                        planned_folder: Some(hit.folder),
                        on_hold: mailbox.on_hold,
                        ..NewItem::default()
                    },
                );
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        let mut items: Vec<NewItem> = items.into_values().collect();
        items.sort_by(|a, b| (a.depth, &a.mailbox).cmp(&(b.depth, &b.mailbox)));
        Ok(Plan {
            kind: JobKind::Retract,
            action: req.action,
            target: root.message_id.clone(),
            reason: req.reason.clone(),
            by_depth: count_by_depth(&items),
            items,
            notes,
            restores_job: None,
        })
    }

    /// One planned item for a logged delivery; external recipients are settled at once.
    #[allow(clippy::too_many_arguments)]
    fn add_delivery(
        &self,
        items: &mut BTreeMap<Key, NewItem>,
        message: &LoggedMessage,
        depth: u32,
        recipient: &str,
        mailbox: &str,
        external: bool,
        notes: &mut Vec<String>,
    ) {
        let key = (recipient.to_string(), message.message_id.clone());
        if items.contains_key(&key) {
            return;
        }
        let tenant = self.config.tenant(&message.tenant);
        let settled = if external {
            Some((ItemOutcome::NotActionable, "external recipient".to_string()))
        } else {
            match self.backend(&message.tenant) {
                Ok(_) => None,
                Err(why) => {
                    if !notes.contains(&why) {
                        notes.push(why.clone());
                    }
                    Some((ItemOutcome::NotActionable, why))
                }
            }
        };
        items.insert(
            key,
            NewItem {
                tenant: message.tenant.clone(),
                mailbox: if external {
                    recipient.to_string()
                } else {
                    mailbox.to_string()
                },
                message_id: message.message_id.clone(),
                depth,
                log_message: Some(message.id),
                on_hold: tenant.is_some_and(|t| t.on_hold(mailbox)),
                settled,
                ..NewItem::default()
            },
        );
    }

    /// Scan every mailbox of every reachable tenant, a bounded number at a time.
    async fn scan_everywhere(
        &self,
        filter: &ScanFilter,
        notes: &mut Vec<String>,
    ) -> Result<Vec<(String, MailboxRef, HeaderSummary)>, EngineError> {
        let mut hits = Vec::new();
        for tenant in self.usable_tenants() {
            hits.extend(self.scan_tenant(&tenant, filter, notes).await?);
        }
        Ok(hits)
    }

    /// Scan every mailbox of one tenant. Mailboxes that fail are named in `notes`.
    pub(crate) async fn scan_tenant(
        &self,
        tenant: &str,
        filter: &ScanFilter,
        notes: &mut Vec<String>,
    ) -> Result<Vec<(String, MailboxRef, HeaderSummary)>, EngineError> {
        let backend = Arc::clone(self.backend(tenant).map_err(EngineError::Backend)?);
        let mailboxes = self.tenant_mailboxes(tenant).await?;
        let limit = Arc::new(Semaphore::new(self.config.engine.concurrency));
        let mut tasks = JoinSet::new();
        for mailbox in mailboxes {
            let backend = Arc::clone(&backend);
            let limit = Arc::clone(&limit);
            let filter = filter.clone();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let found = backend.scan(&mailbox, &filter).await;
                (mailbox, found)
            });
        }
        let mut hits = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let Ok((mailbox, found)) = joined else {
                // Never skip a mailbox silently: the plan says one was not searched.
                notes.push(format!(
                    "tenant {tenant}: a mailbox search failed unexpectedly"
                ));
                continue;
            };
            match found {
                Ok(found) => hits.extend(
                    found
                        .into_iter()
                        .map(|h| (tenant.to_string(), mailbox.clone(), h)),
                ),
                Err(e) => notes.push(format!("{}: not searched: {e}", mailbox.address)),
            }
        }
        hits.sort_by(|a, b| (&a.1.address, &a.2.message_id).cmp(&(&b.1.address, &b.2.message_id)));
        Ok(hits)
    }

    /// Plan a restore of pulled copies.
    pub fn plan_restore(&self, req: &RestoreRequest) -> Result<Plan, EngineError> {
        let what = match (&req.message, req.job) {
            (_, Some(job)) => format!("job {job}"),
            (Some(m), None) => m.message_id.clone(),
            (None, None) => String::new(),
        };
        self.authorize(Action::Restore, false, &what)?;
        let mut candidates: Vec<JobItem> = Vec::new();
        let target = match (&req.message, req.job) {
            (_, Some(job)) => {
                let found = self
                    .store
                    .job(job)
                    .map_err(|_| EngineError::BadInput(format!("no job {job}")))?;
                if found.kind == JobKind::Restore {
                    return Err(EngineError::BadInput(format!(
                        "job {job} is itself a restore; restore the job it undid instead"
                    )));
                }
                candidates.extend(self.store.restorable_items(None, Some(job))?);
                format!("job {job}")
            }
            (Some(message), None) => {
                candidates.extend(
                    self.store
                        .restorable_items(Some(&message.message_id), None)?
                        .into_iter()
                        .filter(|i| i.tenant == message.tenant),
                );
                for job in self
                    .store
                    .jobs_rooted_at(&message.message_id, &message.tenant)?
                {
                    for item in self.store.restorable_items(None, Some(job))? {
                        if !candidates.iter().any(|c| c.id == item.id) {
                            candidates.push(item);
                        }
                    }
                }
                message.message_id.clone()
            }
            (None, None) => {
                return Err(EngineError::BadInput("restore needs a REF or --job".into()));
            }
        };
        let wanted: Vec<String> = req
            .recipients
            .iter()
            .map(|a| normalize_address(a))
            .collect();
        let mut items = Vec::new();
        for item in candidates {
            if !wanted.is_empty() && !wanted.contains(&item.mailbox) {
                continue;
            }
            items.push(NewItem {
                tenant: item.tenant.clone(),
                mailbox: item.mailbox.clone(),
                message_id: item.message_id.clone(),
                depth: item.depth,
                log_message: item.log_message,
                planned_folder: item.to_folder(),
                on_hold: item.on_hold,
                restores_item: Some(item.id),
                placements: item.placements.clone(),
                settled: None,
            });
        }
        Ok(Plan {
            kind: JobKind::Restore,
            action: Action::Restore,
            target,
            reason: req.reason.clone(),
            by_depth: count_by_depth(&items),
            items,
            notes: Vec::new(),
            restores_job: req.job,
        })
    }

    /// Plan a sweep: search every mailbox of the tenant now, act on what matches.
    pub async fn plan_sweep(&self, req: &SweepRequest) -> Result<Plan, EngineError> {
        let action = req
            .action
            .ok_or_else(|| EngineError::BadInput("sweep needs --action".into()))?;
        // A sweep reads every mailbox of the tenant: the role check comes before the search.
        self.authorize(action, true, &format!("tenant {}", req.tenant))?;
        if req.message_ids.is_empty()
            && req.from.is_none()
            && req.subject.is_none()
            && req.since.is_none()
        {
            return Err(EngineError::BadInput(
                "sweep needs at least one of --message-id, --from, --subject, --since".into(),
            ));
        }
        let filter = ScanFilter {
            message_ids: req.message_ids.clone(),
            from: req.from.clone(),
            subject: req.subject.clone(),
            since: req.since,
            skip_admin_folders: true,
            ..ScanFilter::default()
        };
        let mut notes = Vec::new();
        let hits = self.scan_tenant(&req.tenant, &filter, &mut notes).await?;
        let backend = Arc::clone(self.backend(&req.tenant).map_err(EngineError::Backend)?);
        let mut seen: HashSet<Key> = HashSet::new();
        let mut items = Vec::new();
        let mut already_there = 0;
        for (tenant, mailbox, hit) in hits {
            if !seen.insert((mailbox.address.clone(), hit.message_id.clone())) {
                continue;
            }
            // Kept in the job, so the record names every mailbox that had the message, but
            // counted apart: these end `already-in-destination`, never moved again.
            if backend.destination_folder(&mailbox, action).as_deref() == Some(hit.folder.as_str())
            {
                already_there += 1;
            }
            items.push(NewItem {
                log_message: self.store.logged_id(&hit.message_id, &tenant)?,
                tenant,
                mailbox: mailbox.address,
                message_id: hit.message_id,
                depth: 0,
                planned_folder: Some(hit.folder),
                on_hold: mailbox.on_hold,
                ..NewItem::default()
            });
        }
        if already_there > 0 {
            notes.push(format!(
                "{already_there} of these copies are already where {action} puts them (recorded, not moved again)"
            ));
        }
        let target = sweep_description(req);
        Ok(Plan {
            kind: JobKind::Sweep,
            action,
            target,
            reason: req.reason.clone(),
            by_depth: count_by_depth(&items),
            items,
            notes,
            restores_job: None,
        })
    }

    /// Write the plan as a job (after the RBAC check); nothing has acted yet when this returns.
    pub fn submit(&self, plan: &Plan) -> Result<i64, EngineError> {
        self.authorize(plan.action, plan.kind == JobKind::Sweep, &plan.target)?;
        let detail = format!(
            "{} items ({} actionable); {}",
            plan.items.len(),
            plan.actionable(),
            plan.by_depth
                .iter()
                .map(|d| format!(
                    "depth {}: {} messages in {} mailboxes",
                    d.depth, d.messages, d.mailboxes
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        let job = NewJob {
            kind: plan.kind,
            action: plan.action,
            initiated_by: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            reason: plan.reason.clone(),
            target: plan.target.clone(),
            restores_job: plan.restores_job,
            audit: self.request_audit(
                &format!("{} {}", plan.kind.as_str(), plan.action),
                &plan.target,
                plan.reason.as_deref(),
                detail,
            ),
        };
        Ok(self.store.create_job(&job, &plan.items)?)
    }
}

fn sweep_description(req: &SweepRequest) -> String {
    let mut parts = vec![format!("tenant {}", req.tenant)];
    parts.extend(req.message_ids.iter().map(|m| format!("message-id {m}")));
    parts.extend(req.from.iter().map(|f| format!("from {f}")));
    parts.extend(req.subject.iter().map(|s| format!("subject {s:?}")));
    parts.extend(
        req.since
            .iter()
            .map(|s| format!("since {}", s.to_rfc3339())),
    );
    parts.join(", ")
}

/// Per depth: distinct messages, and distinct mailboxes that will actually be acted on.
fn count_by_depth(items: &[NewItem]) -> Vec<DepthCount> {
    let mut by: BTreeMap<u32, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for it in items {
        let entry = by.entry(it.depth).or_default();
        entry.0.insert(&it.message_id);
        if it.settled.is_none() {
            entry.1.insert(&it.mailbox);
        }
    }
    by.into_iter()
        .map(|(depth, (messages, mailboxes))| DepthCount {
            depth,
            messages: messages.len() as u64,
            mailboxes: mailboxes.len() as u64,
        })
        .collect()
}
