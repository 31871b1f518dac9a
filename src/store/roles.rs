//! The store's roles: what the engine and its clients need from a store, one trait per
//! concern, so a second implementation (PostgreSQL for team mode) can stand in for the SQLite
//! [`Store`] and be held to the same contract suite.
//!
//! The traits are synchronous on purpose. The SQLite store is: its calls are short and run
//! on the caller's thread behind one mutex. A networked implementation keeps the same
//! signatures and runs its client off the async worker threads (`spawn_blocking`, or a
//! dedicated runtime it blocks on), so the engine's tasks are never parked inside a driver.
//!
//! Every method names a behaviour the contract suite checks; times are never passed in
//! (callers give durations, and the store's [`super::Clock`] gives every stored time).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::JobSignature;
use super::{
    AlertCounts, ApprovalRecord, ClaimedRevision, DecisionEffect, DecisionRecord, NewApproval,
    NewDecision, Settlement,
};
use super::{
    AuditCheckpoint, AuditEntry, AuditFilter, AuditProgress, AuditVerdict, Claimed,
    ConversationEntry, EvidenceRecord, IndicatorsAdded, IngestStats, ItemFinish, MailboxHuntMark,
    MailboxTurn, MessageDetail, NewAudit, NewItem, NewJob, NewMessage, NewReport, PageAnchor,
    RefMatch, ReportRecord, Requeued, Result, SqliteStore, Store,
};
use crate::model::{
    Alert, AlertReceipt, Indicator, IndicatorRecord, Job, JobItem, LoggedMessage, Placement,
};
use crate::query::Query;
use crate::trust::{KeyRing, ServiceKey};
use std::sync::Arc;

/// Declares a role trait from one list of signatures, with its two implementations that
/// cannot drift apart: the SQLite store's, each method delegating to [`SqliteStore`]'s
/// inherent method of the same name, and the configured [`Store`]'s, which hands the call to
/// whichever store the config named. `Store` gets the same methods as inherent ones too, so
/// callers holding it need no trait in scope.
macro_rules! role {
    (
        $(#[$meta:meta])*
        pub trait $role:ident {
            $( $(#[$doc:meta])* fn $method:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $out:ty; )*
        }
    ) => {
        $(#[$meta])*
        pub trait $role {
            $( $(#[$doc])* fn $method(&self $(, $arg: $ty)*) -> $out; )*
        }

        impl $role for SqliteStore {
            $( fn $method(&self $(, $arg: $ty)*) -> $out { SqliteStore::$method(self $(, $arg)*) } )*
        }

        impl Store {
            $( $(#[$doc])* pub fn $method(&self $(, $arg: $ty)*) -> $out { $role::$method(self.roles() $(, $arg)*) } )*
        }

        impl $role for Store {
            $( fn $method(&self $(, $arg: $ty)*) -> $out { Store::$method(self $(, $arg)*) } )*
        }
    };
}

role! {
    /// The message log: what was delivered to whom, searched and followed by conversation.
    pub trait MessageLog {
        /// Add records in one transaction; a Message-ID already logged for its tenant merges
        /// its new recipients, so ingesting a file twice is harmless.
        fn insert_messages(&self, batch: &[NewMessage<'_>]) -> Result<IngestStats>;
        /// The message with this log id (`NotFound` otherwise).
        fn message(&self, id: i64) -> Result<LoggedMessage>;
        /// A REF (log id or Message-ID, brackets optional) resolved.
        fn resolve_ref(&self, reference: &str) -> Result<RefMatch>;
        /// Every tenant's message with this exact Message-ID.
        fn messages_by_message_id(&self, message_id: &str) -> Result<Vec<LoggedMessage>>;
        /// One message with its deliveries; `holds` marks mailboxes under legal hold.
        fn message_detail(&self, id: i64, holds: &dyn Fn(&str) -> bool) -> Result<MessageDetail>;
        /// Replies and forwards of `root`, depth by depth, each message once.
        fn conversation(&self, root: &LoggedMessage, max_depth: u32) -> Result<Vec<ConversationEntry>>;
        /// (recipient, mailbox, external) of each delivery of a message.
        fn deliveries_of(&self, message: i64) -> Result<Vec<(String, String, bool)>>;
        /// How many messages the log holds.
        fn message_count(&self) -> Result<u64>;
        /// Logged messages whose direct parent is one of `parents`.
        fn children(&self, parents: &[String]) -> Result<Vec<LoggedMessage>>;
        /// The log id of `message_id` in `tenant`, if logged.
        fn logged_id(&self, message_id: &str, tenant: &str) -> Result<Option<i64>>;
        /// One page of a query's matches, newest first, from `anchor`.
        fn search_page(&self, query: &Query, anchor: PageAnchor, limit: usize) -> Result<Vec<LoggedMessage>>;
        /// A query's matches, newest first.
        fn search(&self, query: &Query, limit: usize, offset: usize) -> Result<Vec<LoggedMessage>>;
        /// How many messages match a query.
        fn search_count(&self, query: &Query) -> Result<u64>;
        /// Set a message's disposition (an analyst's report), lower-cased; `NotFound` when
        /// no such log id.
        fn set_disposition(&self, id: i64, disposition: &str) -> Result<()>;
        /// Up to `limit` messages with a log id above `after_id`, received within `within`
        /// of the store's now, by log id (a hunt reads the log forward).
        fn messages_after(&self, after_id: i64, within: Duration, limit: usize) -> Result<Vec<LoggedMessage>>;
        /// The (tenant, mailbox) pairs the log names as internal recipients of a message
        /// received within `within` of the store's now, sorted (the mailboxes a hunt reads).
        fn mailboxes_within(&self, within: Duration) -> Result<Vec<(String, String)>>;
    }
}

role! {
    /// Jobs and their items: written before anything acts, settled by their items' results.
    pub trait JobQueue {
        /// A job, its items and its audit record, together; the job's id.
        fn create_job(&self, job: &NewJob, items: &[NewItem]) -> Result<i64>;
        /// What a job's signature covers, and the signature, for checking it.
        fn job_signature(&self, id: i64) -> Result<JobSignature>;
        /// The newest jobs with their counts.
        fn jobs(&self, limit: usize) -> Result<Vec<Job>>;
        /// One job with its counts.
        fn job(&self, id: i64) -> Result<Job>;
        /// A job's items in creation order.
        fn job_items(&self, job: i64) -> Result<Vec<JobItem>>;
        /// Items that moved copies and that no restore has put back.
        fn restorable_items(&self, message_id: Option<&str>, job: Option<i64>) -> Result<Vec<JobItem>>;
        /// Retract jobs rooted at `message_id` in `tenant`.
        fn jobs_rooted_at(&self, message_id: &str, tenant: &str) -> Result<Vec<i64>>;
        /// Provider ids recorded as moved into `mailbox` for `message_id`.
        fn recorded_destinations(&self, mailbox: &str, message_id: &str) -> Result<HashSet<String>>;
        /// Cancel a job: its queued items end `cancelled`; the number that did.
        fn cancel_job(&self, id: i64, audit: &NewAudit) -> Result<u64>;
        /// (job, queued, claimed) of these jobs' unfinished items.
        fn unfinished_items(&self, jobs: &[i64]) -> Result<Vec<(i64, u64, u64)>>;
        /// An item's result, its delivery change and audit record, together; `false` (nothing
        /// written) when the claim had been taken over.
        fn finish_item(&self, f: &ItemFinish) -> Result<bool>;
        /// What a job is waiting on, shown in views; `None` clears it.
        fn set_throttle_note(&self, job: i64, note: Option<&str>) -> Result<()>;
    }
}

role! {
    /// Workers and their claims on items: leases, fences and take-over.
    pub trait ItemClaims {
        /// Announce a worker.
        fn register_worker(&self, id: &str, host: &str, pid: u32) -> Result<()>;
        /// Renew a worker's lease; `false` when it had been presumed dead meanwhile.
        fn heartbeat(&self, id: &str) -> Result<bool>;
        /// Forget a worker that stops cleanly.
        fn unregister_worker(&self, id: &str) -> Result<()>;
        /// Workers whose heartbeat is within `within_ms`.
        fn live_workers(&self, within_ms: i64) -> Result<u64>;
        /// Forget workers past their lease (or dead by `is_dead`) and give back their claims.
        fn reclaim_orphans(&self, lease_ms: i64, is_dead: &dyn Fn(&str, i64) -> bool) -> Result<u64>;
        /// Claim up to `limit` due items; no item is ever claimed by two workers at once.
        fn claim_items(&self, worker: &str, limit: usize, jobs: Option<&[i64]>) -> Result<Vec<Claimed>>;
        /// The fence before an act: the claim is still `worker`'s and its lease is live.
        fn claim_holds(&self, item: i64, worker: &str, lease_ms: i64) -> Result<bool>;
        /// Record placements before acting; `false` when the claim is no longer ours.
        fn record_placements(&self, item: i64, worker: &str, placements: &[Placement]) -> Result<bool>;
        /// Give a claimed item back, due again `retry_in` from now.
        fn requeue_item(&self, item: i64, worker: &str, retry_in: Duration, error: &str) -> Result<Requeued>;
        /// Make `worker` the owner of a job it runs.
        fn own_job(&self, job: i64, worker: &str) -> Result<()>;
        /// Take over unfinished jobs whose owner is gone.
        fn adopt_abandoned(&self, worker: &str) -> Result<Vec<i64>>;
        /// The jobs `adopt_abandoned` would take.
        fn abandoned_jobs(&self) -> Result<Vec<i64>>;
        /// (queued, claimed, time until the next is due) of unfinished items.
        fn pending(&self, jobs: Option<&[i64]>) -> Result<(u64, u64, Option<Duration>)>;
    }
}

role! {
    /// The audit trail: append-only and hash-chained.
    pub trait AuditTrail {
        /// Append one record; its sequence number.
        fn audit(&self, e: &NewAudit) -> Result<i64>;
        /// Records matching a filter, oldest first.
        fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
        /// Walk the whole chain.
        fn verify_audit(&self) -> Result<AuditVerdict>;
        /// Walk the chain from a checkpoint an earlier verification returned.
        fn verify_audit_from(&self, from: Option<&AuditCheckpoint>) -> Result<AuditProgress>;
        /// [`AuditTrail::verify_audit_from`], checking every signature with the ring's keys
        /// (`audit verify --key`, `[service] trusted_keys`); without keys signatures are
        /// counted, not checked.
        fn verify_audit_with(&self, from: Option<&AuditCheckpoint>, key: Option<&KeyRing>) -> Result<AuditProgress>;
        /// The chain head: the newest record's sequence number and hash.
        fn audit_head(&self) -> Result<Option<(i64, String)>>;
        /// The stored hash of record `seq` (for checking the witness).
        fn audit_hash(&self, seq: i64) -> Result<Option<String>>;
    }
}

role! {
    /// Signing by the service: the process that owns the store in service mode signs every
    /// audit record and job it writes from then on.
    pub trait ServiceSigning {
        /// Sign from now on with `key`; a second, different key is refused.
        fn set_signer(&self, key: Arc<ServiceKey>) -> Result<()>;
        /// The service's key, when this process signs.
        fn signer(&self) -> Option<&Arc<ServiceKey>>;
    }
}

/// What is called when a job's progress changed (its id), or may have changed unseen (`None`).
pub type ProgressChanged = Arc<dyn Fn(Option<i64>) + Send + Sync>;

role! {
    /// Being told that some process made work, rather than finding it at the next poll.
    pub trait WorkSignals {
        /// Call `wake` whenever any process commits a job, and whenever what was said may
        /// have been missed (a lost session); `false` when this store cannot tell (SQLite:
        /// its writers share one host, and the worker's poll sees them).
        fn watch_for_work(&self, wake: Arc<dyn Fn() + Send + Sync>) -> Result<bool>;
        /// Call `changed` with a job's id whenever any process changes its progress, and
        /// with `None` whenever what was said may have been missed; `false` when this store
        /// cannot tell (SQLite: the progress feeds' poll sees every writer).
        fn watch_progress(&self, changed: ProgressChanged) -> Result<bool>;
    }
}

role! {
    /// Evidence copies of messages taken before a hard-delete.
    pub trait EvidenceStore {
        /// Keep a raw message (committed before the caller acts); its SHA-256 in hex.
        fn add_evidence(&self, item: i64, tenant: &str, mailbox: &str, message_id: &str, folder: &str, raw: &[u8]) -> Result<String>;
        /// The copies taken for one item.
        fn evidence_for_item(&self, item: i64) -> Result<Vec<EvidenceRecord>>;
        /// The raw bytes of one copy.
        fn evidence_raw(&self, id: i64) -> Result<Vec<u8>>;
        /// The copies taken of one tenant's message (any item), newest first.
        fn evidence_for_message(&self, tenant: &str, message_id: &str) -> Result<Vec<EvidenceRecord>>;
    }
}

role! {
    /// Phish reports read from the abuse mailbox: each recorded once, before it is moved.
    pub trait PhishReports {
        /// Record a report; its id, or `None` when the same report was recorded before.
        fn record_report(&self, report: &NewReport) -> Result<Option<i64>>;
        /// The report recorded for (tenant, mailbox, report id), if any.
        fn report(&self, tenant: &str, mailbox: &str, report_id: &str) -> Result<Option<ReportRecord>>;
        /// The newest `limit` reports, newest first.
        fn reports(&self, limit: usize) -> Result<Vec<ReportRecord>>;
        /// Mark a report moved to the processed folder (the first time only).
        fn mark_report_processed(&self, id: i64) -> Result<()>;
        /// Raise every `reported` report of a message to `outcome`; how many.
        fn set_report_outcome(&self, original_message_id: &str, outcome: &str) -> Result<u64>;
        /// The distinct reporters whose report raised a message, sorted.
        fn reporters_of(&self, original_message_id: &str) -> Result<Vec<String>>;
        /// Whether an `active` alert of `classification` stands for `message_id`.
        fn has_active_alert(&self, message_id: &str, classification: &str) -> Result<bool>;
    }
}

role! {
    /// Indicators of compromise, and how far each one's hunt has read the log.
    pub trait IndicatorStore {
        /// Add a batch in one transaction (all or none); a (kind, value, source) already
        /// stored gets the batch's classification and expiry.
        fn add_indicators(&self, batch: &[Indicator], added_by: &str) -> Result<IndicatorsAdded>;
        /// Every indicator, expired ones included, oldest first.
        fn indicators(&self) -> Result<Vec<IndicatorRecord>>;
        /// The indicators that count at the store's now (no expiry or one ahead).
        fn live_indicators(&self) -> Result<Vec<IndicatorRecord>>;
        /// Remove one (`NotFound` when absent); what it was.
        fn remove_indicator(&self, id: i64) -> Result<IndicatorRecord>;
        /// Remove every indicator; how many there were.
        fn remove_all_indicators(&self) -> Result<u64>;
        /// The highest log id this indicator's hunt has read (0: none yet).
        fn hunted_to(&self, id: i64) -> Result<i64>;
        /// Move this indicator's hunt mark up to `log_id` (never backwards).
        fn set_hunted_to(&self, id: i64, log_id: i64) -> Result<()>;
        /// How far the mailbox hunt has read each of `tenant`'s mailboxes.
        fn mailbox_hunt_marks(&self, tenant: &str) -> Result<Vec<MailboxHuntMark>>;
        /// Mark `mailboxes` of `tenant` hunted for `indicators` up to `hunted_until` (never
        /// backwards). Removing any indicator clears every mark.
        fn set_mailbox_hunt_marks(&self, tenant: &str, mailboxes: &[String], hunted_until: DateTime<Utc>, indicators: &[i64]) -> Result<()>;
    }
}

role! {
    /// Alerts as received, their revisions, and the policies' decisions on them: each
    /// revision decided once, by the decider that claimed it.
    pub trait AlertLog {
        /// Store alerts in one transaction (all or none), each new, a repeat or an update.
        fn receive_alerts(&self, alerts: &[Alert]) -> Result<Vec<AlertReceipt>>;
        /// Give back claims on undecided revisions held by deciders `is_dead` says are gone.
        fn release_dead_alert_claims(&self, is_dead: &dyn Fn(&str) -> bool) -> Result<u64>;
        /// Claim the oldest undecided revision (its alert's earlier ones all decided); a claim
        /// older than `lease` is taken over. `None` when there is nothing to decide.
        fn claim_alert_revision(&self, decider: &str, lease: Duration) -> Result<Option<ClaimedRevision>>;
        /// Write a decision with what it made and its audit record, together; `None`
        /// (nothing written) when the claim is no longer the claimant's.
        fn decide_alert(&self, claim: &ClaimedRevision, decision: &NewDecision, effect: DecisionEffect<'_>) -> Result<Option<DecisionRecord>>;
        /// Decisions written at or after `since`, oldest first.
        fn decisions_since(&self, since: DateTime<Utc>) -> Result<Vec<DecisionRecord>>;
        /// The store's number for the alert `source` sent as `id`, if ever received.
        fn alert_number(&self, source: &str, id: &str) -> Result<Option<i64>>;
        /// The retract jobs decisions on alert `number` made (directly or approved), oldest first.
        fn jobs_of_alert(&self, number: i64) -> Result<Vec<i64>>;
        /// When the first copy of `job` was pulled, if one was.
        fn first_pulled_at(&self, job: i64) -> Result<Option<DateTime<Utc>>>;
        /// How many alerts, revisions, undecided revisions and decisions there are.
        fn alert_counts(&self) -> Result<AlertCounts>;
    }
}

role! {
    /// Approval requests: a retraction (or restore) waiting for a second person.
    pub trait Approvals {
        /// A request made by hand, with its audit record; its id.
        fn request_approval(&self, a: &NewApproval, audit: &NewAudit) -> Result<i64>;
        /// Requests in `state` (every state: `None`), oldest first.
        fn approvals(&self, state: Option<&str>) -> Result<Vec<ApprovalRecord>>;
        /// One request (`NotFound` otherwise).
        fn approval(&self, id: i64) -> Result<ApprovalRecord>;
        /// Mark pending requests past their time `expired`, each with its audit record.
        fn expire_approvals(&self, audit: &dyn Fn(&ApprovalRecord) -> NewAudit) -> Result<Vec<ApprovalRecord>>;
        /// Settle a pending request once (approve with its job, reject, void), audited;
        /// `Invalid` (nothing written) when decided already, expired, or `by` made it.
        fn settle_approval(&self, id: i64, by: &str, reason: Option<&str>, settlement: Settlement<'_>, audit: &NewAudit) -> Result<ApprovalRecord>;
    }
}

role! {
    /// Limits every engine on the store keeps together (`store/limits.rs`): mailbox turns
    /// and holds, and each tenant's credentials breaker.
    pub trait SharedLimits {
        /// Take the turn at a mailbox for `worker` (a registered one), or say why not:
        /// another worker has it, or the mailbox is held after its server throttled it.
        fn take_mailbox_turn(&self, worker: &str, tenant: &str, mailbox: &str) -> Result<MailboxTurn>;
        /// `worker` is done at the mailbox for now; another worker's turn is left alone.
        fn end_mailbox_turn(&self, worker: &str, tenant: &str, mailbox: &str) -> Result<()>;
        /// Give no turn at the mailbox for `wait`; a hold is only ever extended.
        fn hold_mailbox(&self, tenant: &str, mailbox: &str, wait: Duration) -> Result<()>;
        /// Open `tenant`'s credentials breaker now, saying why.
        fn open_breaker(&self, tenant: &str, reason: &str) -> Result<()>;
        /// Why the breaker stops `job`'s items of `tenant`: it opened at or after the job was
        /// created (`None`: shut, or opened before the job).
        fn breaker_for_job(&self, tenant: &str, job: i64) -> Result<Option<String>>;
    }
}

role! {
    /// How far each alert poller has read its source.
    pub trait PollerCursors {
        /// The cursor stored for `source`, if any.
        fn poller_cursor(&self, source: &str) -> Result<Option<String>>;
        /// Store `cursor` as where `source` got to, replacing the one before.
        fn set_poller_cursor(&self, source: &str, cursor: &str) -> Result<()>;
    }
}

/// Every role at once: what the engine's run needs from one store.
pub trait StoreRoles:
    MessageLog
    + JobQueue
    + ItemClaims
    + AuditTrail
    + EvidenceStore
    + PhishReports
    + IndicatorStore
    + AlertLog
    + Approvals
    + PollerCursors
    + ServiceSigning
    + WorkSignals
    + SharedLimits
{
}

impl<T> StoreRoles for T where
    T: MessageLog
        + JobQueue
        + ItemClaims
        + AuditTrail
        + EvidenceStore
        + PhishReports
        + IndicatorStore
        + AlertLog
        + Approvals
        + PollerCursors
        + ServiceSigning
        + WorkSignals
        + SharedLimits
{
}
