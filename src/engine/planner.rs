//! Planning: turning a request into the items of a job, before anything acts.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use super::requests::{RestoreRequest, RetractRequest, SweepRequest};
use super::{Engine, EngineError};
use crate::backends::{HeaderSummary, MailboxRef, ScanFilter};
use crate::model::{Action, ItemOutcome, JobItem, JobKind, LoggedMessage, normalize_address};
use crate::store::{NewItem, NewJob};

/// What one depth of a plan holds: its messages, the mailboxes it acts on, the mailboxes no
/// shallower depth reached (`adds`) and the mailboxes reached down to it (`reaches`), so the
/// `adds` sum to the plan's total and the last `reaches` is that total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DepthCount {
    pub depth: u32,
    pub messages: u64,
    pub mailboxes: u64,
    /// Mailboxes acted on at this depth and at no shallower one (counts stored before
    /// these fields read as 0).
    #[serde(default)]
    pub adds: u64,
    /// Distinct mailboxes acted on at this depth and above.
    #[serde(default)]
    pub reaches: u64,
}

impl DepthCount {
    /// The depth for a person: what it adds and what the plan reaches with it
    /// (`depth 1: +2 → 7 mailboxes (3 messages)`), the same in the console and the CLI.
    pub fn line(&self) -> String {
        format!(
            "depth {}: +{} → {} mailboxes ({} messages)",
            self.depth, self.adds, self.reaches, self.messages
        )
    }
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
    /// (mailbox, Message-ID) of the copies an earlier job already put where this plan's
    /// action does: noted, and not counted as to do.
    pub already_there: BTreeSet<(String, String)>,
}

impl Plan {
    /// Items that will actually be acted on: not settled at planning time, and not already
    /// where the action puts them.
    pub fn actionable(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.settled.is_none() && !self.is_already_there(i))
            .count()
    }

    /// Whether an earlier job already put `item`'s copy where this plan's action does.
    pub fn is_already_there(&self, item: &NewItem) -> bool {
        self.already_there
            .contains(&(item.mailbox.clone(), item.message_id.clone()))
    }

    /// Distinct mailboxes the plan acts on, over all depths.
    pub fn mailboxes_reached(&self) -> u64 {
        self.by_depth.last().map_or(0, |d| d.reaches)
    }

    /// Items that failed at planning time (a mailbox a sweep could not search): the plan,
    /// and the job written from it, are partial.
    pub fn failed(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i.settled, Some((ItemOutcome::Failed, _))))
            .count()
    }
}

/// Why a mailbox is never a target, if it is not: the tenant's quarantine mailbox holds other
/// recipients' quarantined copies (evidence, each under its custodian's hold).
const QUARANTINE_MAILBOX: &str =
    "the quarantine mailbox: it keeps other recipients' quarantined copies, never a target";
/// The abuse mailbox (`[submissions]`) holds users' reports, the evidence of what they saw:
/// pulling the reported message out of it would destroy the reports.
pub const ABUSE_MAILBOX: &str = "the abuse mailbox: it keeps users' phish reports, never a target";

/// What one tenant's scan found, and the mailboxes it could not search (with why).
pub(super) struct TenantScan {
    /// (tenant, mailbox, copy) for every match, sorted by mailbox.
    pub(super) hits: Vec<(String, MailboxRef, HeaderSummary)>,
    /// Mailboxes that could not be searched, with why.
    pub(super) unsearched: Vec<(MailboxRef, String)>,
}

/// A (mailbox, message) seen while planning, keyed so each is planned once.
type Key = (String, String);

impl Engine {
    /// Plan a retraction of `root` (resolved from `req` by [`Engine::plan_retract`]). Reads
    /// the log and searches mailboxes; changes nothing.
    pub(super) async fn plan_retraction(
        &self,
        root: &LoggedMessage,
        req: &RetractRequest,
    ) -> Result<Plan, EngineError> {
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
        // Every --exclude must name someone the retraction reaches, as every --recipient must:
        // a typo there would otherwise pull the very copy the caller meant to spare.
        let mut excluded_seen: HashSet<String> = HashSet::new();
        for (recipient, mailbox, external) in deliveries {
            if exclude.contains(&recipient) {
                excluded_seen.insert(recipient.clone());
            }
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
                    if exclude.contains(&recipient) {
                        excluded_seen.insert(recipient.clone());
                    } else {
                        self.add_delivery(
                            &mut items, &child, depth, &recipient, &mailbox, external, &mut notes,
                        );
                    }
                }
            }
            // Internal forwards and replies often never pass the gateway: ask the mailboxes.
            for found in self
                .conversation_search(root, depth, &frontier, &mut notes)
                .await?
            {
                let (tenant, mailbox, hit) = (found.tenant, found.mailbox, found.copy);
                // Backends match any References entry (servers search that way); depth
                // follows the direct parent only.
                let parent =
                    crate::model::direct_parent(hit.in_reply_to.as_deref(), &hit.references);
                if !parent.is_some_and(|p| frontier.contains(&p)) {
                    continue;
                }
                if exclude.contains(&mailbox.address) {
                    excluded_seen.insert(mailbox.address.clone());
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
                let settled = self
                    .reserved_mailbox(&tenant, &mailbox.address)
                    .map(|why| (ItemOutcome::NotActionable, why.to_string()));
                items.insert(
                    key,
                    NewItem {
                        tenant,
                        mailbox: mailbox.address,
                        message_id: hit.message_id,
                        depth,
                        log_message,
                        planned_folder: Some(hit.location.folder),
                        on_hold: mailbox.on_hold,
                        settled,
                        ..NewItem::default()
                    },
                );
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        let mut strangers: Vec<&String> = exclude.difference(&excluded_seen).collect();
        if !strangers.is_empty() {
            strangers.sort();
            let reach = if req.depth == 0 {
                String::new()
            } else {
                format!(
                    " nor of a reply or forward of it down to depth {}",
                    req.depth
                )
            };
            return Err(EngineError::BadInput(format!(
                "--exclude {}: not a recipient of {}{reach} (its recipients: {})",
                strangers
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                root.message_id,
                root.recipients.join(", ")
            )));
        }
        let mut items: Vec<NewItem> = items.into_values().collect();
        items.sort_by(|a, b| (a.depth, &a.mailbox).cmp(&(b.depth, &b.mailbox)));
        let already_there = self.mark_already_there(req.action, &mut items, &mut notes)?;
        if let Some(max) = req.max_items {
            let copies = items
                .iter()
                .filter(|i| {
                    i.settled.is_none()
                        && !already_there.contains(&(i.mailbox.clone(), i.message_id.clone()))
                })
                .count();
            self.within_max_items("retraction", &root.message_id, copies, max, false)?;
        }
        Ok(Plan {
            kind: JobKind::Retract,
            action: req.action,
            target: root.message_id.clone(),
            reason: req.reason.clone(),
            by_depth: count_by_depth(&items, &already_there),
            items,
            notes,
            restores_job: None,
            already_there,
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
        } else if let Some(why) = self.reserved_mailbox(&message.tenant, mailbox) {
            Some((ItemOutcome::NotActionable, why.to_string()))
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
    pub(super) async fn scan_everywhere(
        &self,
        filter: &ScanFilter,
        notes: &mut Vec<String>,
    ) -> Result<Vec<(String, MailboxRef, HeaderSummary)>, EngineError> {
        let mut hits = Vec::new();
        for tenant in self.usable_tenants() {
            let scan = self.scan_tenant(&tenant, filter).await?;
            notes.extend(unsearched_notes(&scan.unsearched));
            hits.extend(scan.hits);
        }
        Ok(hits)
    }

    /// Scan every mailbox of one tenant; the mailboxes that could not be searched are named
    /// with the reason, never skipped silently.
    pub(super) async fn scan_tenant(
        &self,
        tenant: &str,
        filter: &ScanFilter,
    ) -> Result<TenantScan, EngineError> {
        let mailboxes = self.tenant_mailboxes(tenant).await?;
        let filter = Arc::new(filter.clone());
        let each = self
            .each_mailbox(tenant, mailboxes, |backend, mailbox| {
                let filter = Arc::clone(&filter);
                async move { backend.scan_confirmed(&mailbox, &filter).await }
            })
            .await?;
        let mut hits: Vec<_> = each
            .done
            .into_iter()
            .flat_map(|(mailbox, found)| {
                found
                    .into_iter()
                    .map(move |h| (tenant.to_string(), mailbox.clone(), h))
            })
            .collect();
        hits.sort_by(|a, b| (&a.1.address, &a.2.message_id).cmp(&(&b.1.address, &b.2.message_id)));
        Ok(TenantScan {
            hits,
            unsearched: each.unsearched,
        })
    }

    /// Why `mailbox` of `tenant` is never a target, if it is one of the mailboxes every plan
    /// leaves out: the quarantine mailbox and the abuse mailbox.
    pub fn reserved_mailbox(&self, tenant: &str, mailbox: &str) -> Option<&'static str> {
        if self.is_quarantine_mailbox(tenant, mailbox) {
            Some(QUARANTINE_MAILBOX)
        } else if self.config.is_abuse_mailbox(tenant, mailbox) {
            Some(ABUSE_MAILBOX)
        } else {
            None
        }
    }

    /// Whether `mailbox` is `tenant`'s quarantine mailbox.
    pub(super) fn is_quarantine_mailbox(&self, tenant: &str, mailbox: &str) -> bool {
        self.config
            .tenant(tenant)
            .and_then(|t| t.quarantine_mailbox.as_deref())
            .is_some_and(|q| q.eq_ignore_ascii_case(mailbox))
    }

    /// Plan a restore of pulled copies (of `message`, resolved from `req` by
    /// [`Engine::plan_restore`], or of `req.job`).
    pub(super) fn plan_restoration(
        &self,
        message: Option<&LoggedMessage>,
        req: &RestoreRequest,
    ) -> Result<Plan, EngineError> {
        let what = match (message, req.job) {
            (_, Some(job)) => format!("job {job}"),
            (Some(m), None) => m.message_id.clone(),
            (None, None) => String::new(),
        };
        self.authorize(Action::Restore, false, &what)?;
        let mut candidates: Vec<JobItem> = Vec::new();
        let target = match (message, req.job) {
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
        // The jobs this restore undoes: it waits until none of their items can still move.
        let mut sources: BTreeSet<i64> = req.job.into_iter().collect();
        if let (Some(message), None) = (message, req.job) {
            sources.extend(
                self.store
                    .jobs_rooted_at(&message.message_id, &message.tenant)?,
            );
        }
        for item in candidates {
            if !wanted.is_empty() && !wanted.contains(&item.mailbox) {
                continue;
            }
            if !req.only_items.is_empty() && !req.only_items.contains(&item.id) {
                continue;
            }
            sources.insert(item.job_id);
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
        self.refuse_restore_while_in_flight(&sources, &target)?;
        Ok(Plan {
            kind: JobKind::Restore,
            action: Action::Restore,
            target,
            reason: req.reason.clone(),
            by_depth: count_by_depth(&items, &BTreeSet::new()),
            items,
            notes: Vec::new(),
            restores_job: req.job,
            already_there: BTreeSet::new(),
        })
    }

    /// Plan a sweep: search every mailbox of the tenant now, act on what matches. The request
    /// passes the rails of [`SweepRequest::validated_filter`] first and the copies found must
    /// fit its `max_items`; a mailbox that could not be searched is a failed item, so the job
    /// ends partial and names it.
    pub async fn plan_sweep(&self, req: &SweepRequest) -> Result<Plan, EngineError> {
        let action = req.validated_action()?;
        let filter = req.validated_filter()?;
        let target = req.description();
        // A sweep reads every mailbox of the tenant: the role check comes before the search.
        self.authorize(action, true, &format!("tenant {}", req.tenant))?;
        let scan = self.scan_tenant(&req.tenant, &filter).await?;
        let mut notes = unsearched_notes(&scan.unsearched);
        let backend = Arc::clone(self.backend(&req.tenant).map_err(EngineError::Backend)?);
        let mut seen: HashSet<Key> = HashSet::new();
        let mut items = Vec::new();
        let mut already_there = 0;
        for (tenant, mailbox, hit) in scan.hits {
            if !seen.insert((mailbox.address.clone(), hit.message_id.clone())) {
                continue;
            }
            let settled = self
                .reserved_mailbox(&tenant, &mailbox.address)
                .map(|why| (ItemOutcome::NotActionable, why.to_string()));
            // Kept in the job, so the record names every mailbox that had the message, but
            // counted apart: these end `already-in-destination`, never moved again.
            // The count is a note for the preview; a copy whose standing cannot be read now
            // is counted as to act on, and the job itself asks again.
            if settled.is_none() {
                match backend.standing(&mailbox, &hit.location, action).await {
                    Ok(standing) if standing.is_done() => already_there += 1,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(mailbox = %mailbox.address, error = %e, "standing unknown")
                    }
                }
            }
            items.push(NewItem {
                log_message: self.store.logged_id(&hit.message_id, &tenant)?,
                tenant,
                mailbox: mailbox.address,
                message_id: hit.message_id,
                depth: 0,
                planned_folder: Some(hit.location.folder),
                on_hold: mailbox.on_hold,
                settled,
                ..NewItem::default()
            });
        }
        if already_there > 0 {
            notes.push(format!(
                "{already_there} of these copies are already where {action} puts them (recorded, not moved again)"
            ));
        }
        let copies = items.iter().filter(|i| i.settled.is_none()).count();
        self.within_max_items(
            "sweep",
            &target,
            copies,
            req.max_items(),
            req.max_items.is_none(),
        )?;
        // Last, so the copies lead the plan; these items name no message.
        for (mailbox, why) in scan.unsearched {
            items.push(NewItem {
                tenant: req.tenant.clone(),
                mailbox: mailbox.address,
                depth: 0,
                on_hold: mailbox.on_hold,
                settled: Some((ItemOutcome::Failed, format!("not searched: {why}"))),
                ..NewItem::default()
            });
        }
        Ok(Plan {
            kind: JobKind::Sweep,
            action,
            target,
            reason: req.reason.clone(),
            by_depth: count_by_depth(&items, &BTreeSet::new()),
            items,
            notes,
            restores_job: None,
            already_there: BTreeSet::new(),
        })
    }

    /// Write the plan as a job (after the RBAC check); nothing has acted yet when this returns.
    pub fn submit(&self, plan: &Plan) -> Result<i64, EngineError> {
        let job = self.job_for(plan)?;
        let id = self.store.create_job(&job, &plan.items)?;
        self.conversation_searches.forget_all();
        // A worker of this process waiting for work starts now, not at its next poll.
        self.work_arrived.notify_one();
        Ok(id)
    }

    /// The job `plan` becomes, after the RBAC check, not yet written: [`Engine::submit`]
    /// writes it alone, a policy decision or an approval writes it with their own record.
    pub fn job_for(&self, plan: &Plan) -> Result<NewJob, EngineError> {
        plan.refused_as_empty()?;
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
        Ok(job)
    }

    /// A job was written outside [`Engine::submit`] (a decision, an approval): the copies
    /// it moves are searched afresh, and this process's idle worker claims it at once.
    pub fn job_written(&self) {
        self.conversation_searches.forget_all();
        self.work_arrived.notify_one();
    }
}

/// One note per mailbox a scan could not search: which, and why.
pub(super) fn unsearched_notes(unsearched: &[(MailboxRef, String)]) -> Vec<String> {
    unsearched
        .iter()
        .map(|(mailbox, why)| format!("{}: not searched: {why}", mailbox.address))
        .collect()
}

/// Per depth: distinct messages, distinct mailboxes that will actually be acted on (not
/// settled, not `already_there`), the mailboxes of those no shallower depth reached, and the
/// mailboxes reached down to the depth.
fn count_by_depth(
    items: &[NewItem],
    already_there: &BTreeSet<(String, String)>,
) -> Vec<DepthCount> {
    let mut by: BTreeMap<u32, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for it in items {
        let entry = by.entry(it.depth).or_default();
        // A mailbox a sweep could not search names no message.
        if !it.message_id.is_empty() {
            entry.0.insert(&it.message_id);
        }
        if it.settled.is_none()
            && !already_there.contains(&(it.mailbox.clone(), it.message_id.clone()))
        {
            entry.1.insert(&it.mailbox);
        }
    }
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    by.into_iter()
        .map(|(depth, (messages, mailboxes))| {
            let before = reached.len();
            reached.extend(mailboxes.iter().copied());
            DepthCount {
                depth,
                messages: messages.len() as u64,
                mailboxes: mailboxes.len() as u64,
                adds: (reached.len() - before) as u64,
                reaches: reached.len() as u64,
            }
        })
        .collect()
}
