//! Loading the message log (`ingest` of a log file, `index` of a tenant's mailboxes): who may
//! do it, and the one audit record each run leaves.
//!
//! The log decides what a retraction reaches, so writing it needs the analyst role, like the
//! least of the actions that use it; a refusal is audited as every other refusal is.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};

use super::{Engine, EngineError};
use crate::backends::{HeaderSummary, MailboxRef, ScanFilter};
use crate::ingest::IngestReport;
use crate::model::{MessageRecord, Role, normalize_address};
use crate::store::NewAudit;

/// The role that may load the log.
pub const LOG_LOAD_ROLE: Role = Role::Analyst;

/// One run that loaded (or tried to load) the log, for its audit record.
#[derive(Clone, Debug)]
pub struct LogLoad<'a> {
    /// `ingest` or `index`.
    pub action: &'a str,
    /// The file (`-` for standard input) or `tenant T`.
    pub source: &'a str,
    /// `jsonl`, `postfix`, `m365-trace`, or `mailboxes` for `index`.
    pub format: &'a str,
    /// SHA-256 (hex) of the input file, when there was one.
    pub sha256: Option<&'a str>,
    /// What was loaded, or why nothing was.
    pub result: Result<&'a IngestReport, &'a str>,
    /// Mailboxes that could not be read (`index`).
    pub not_read: usize,
}

/// What `index` found: the copies in each mailbox, and the mailboxes it could not read.
#[derive(Debug, Default)]
pub struct IndexScan {
    /// Each mailbox with the header summaries of the copies it holds, by address.
    pub hits: Vec<(MailboxRef, Vec<HeaderSummary>)>,
    /// `address: why` for every mailbox not read.
    pub not_indexed: Vec<String>,
}

impl IndexScan {
    /// One log record per Message-ID found (by Message-ID order), its recipients being every
    /// mailbox that holds a copy; the first copy seen gives the headers.
    pub fn records(&self, tenant: &str) -> Vec<MessageRecord> {
        let mut records: BTreeMap<String, MessageRecord> = BTreeMap::new();
        // Each record's recipients as a set, so adding the holder of a mass mailing's copy
        // costs one look-up, not a pass over its thousands of recipients.
        let mut listed: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for (mailbox, hits) in &self.hits {
            for h in hits {
                let holder = mailbox_recipient(mailbox, &h.from);
                let entry = records
                    .entry(h.message_id.clone())
                    .or_insert_with(|| MessageRecord {
                        message_id: h.message_id.clone(),
                        from: h.from.clone(),
                        to: h.to.clone(),
                        cc: h.cc.clone(),
                        subject: h.subject.clone(),
                        received_at: h.date.unwrap_or_else(Utc::now),
                        disposition: None,
                        in_reply_to: h.in_reply_to.clone(),
                        references: h.references.clone(),
                        size: Some(h.size),
                        tenant: Some(tenant.to_string()),
                        source_id: Some("index".into()),
                    });
                let known = listed
                    .entry(h.message_id.clone())
                    .or_insert_with(|| entry.recipients().into_iter().collect());
                if let Some(holder) = holder
                    && known.insert(holder.clone())
                {
                    entry.to.push(holder);
                }
            }
        }
        records.into_values().collect()
    }
}

/// The mailbox counts as a recipient of what it holds, unless it is the sender's own copy.
fn mailbox_recipient(mailbox: &MailboxRef, from: &str) -> Option<String> {
    (normalize_address(from) != mailbox.address).then(|| mailbox.address.clone())
}

impl Engine {
    /// Check the actor may load the log (`action` is `ingest` or `index`); a refusal is
    /// audited and returned.
    pub fn authorize_log_load(&self, action: &str, target: &str) -> Result<(), EngineError> {
        let role = self.actor.role;
        if role >= LOG_LOAD_ROLE {
            return Ok(());
        }
        self.store.audit(&NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: role.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            outcome: "refused".into(),
            detail: Some(format!(
                "role {role} may not {action}; needs {LOG_LOAD_ROLE}"
            )),
            ..NewAudit::default()
        })?;
        Err(EngineError::Refused(format!(
            "{} has role {role}, which may not {action} (needs {LOG_LOAD_ROLE} or above)",
            self.actor.login
        )))
    }

    /// The audit record of one log load: source, format, counts and the input's hash.
    pub fn audit_log_load(&self, load: &LogLoad<'_>) -> Result<(), EngineError> {
        let mut detail = format!("format {}", load.format);
        if let Some(sha) = load.sha256 {
            detail.push_str(&format!(", sha256 {sha}"));
        }
        let outcome = match load.result {
            Ok(r) => {
                detail.push_str(&format!(
                    ", {} records: {} loaded ({} new, {} merged), {} skipped",
                    r.records,
                    r.inserted + r.merged,
                    r.inserted,
                    r.merged,
                    r.rejected_total
                ));
                if load.not_read > 0 {
                    detail.push_str(&format!(", {} mailboxes not read", load.not_read));
                }
                if r.rejected_total > 0 || load.not_read > 0 {
                    "partial"
                } else {
                    "done"
                }
            }
            Err(why) => {
                detail.push_str(&format!(", failed: {why}"));
                "failed"
            }
        };
        self.store.audit(&NewAudit {
            actor: self.actor.login.clone(),
            ssh_from: self.actor.ssh_from.clone(),
            role: self.actor.role.to_string(),
            action: load.action.to_string(),
            target: load.source.to_string(),
            outcome: outcome.into(),
            detail: Some(detail),
            ..NewAudit::default()
        })?;
        Ok(())
    }

    /// Read every mailbox of a tenant for `index`, through the engine's limits (at most
    /// `[engine] concurrency` mailboxes at once, one scan per mailbox). Needs the analyst
    /// role (refusals audited).
    pub async fn scan_for_index(
        &self,
        tenant: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<IndexScan, EngineError> {
        if self.config.tenant(tenant).is_none() {
            return Err(EngineError::BadInput(format!("unknown tenant '{tenant}'")));
        }
        self.authorize_log_load("index", &format!("tenant {tenant}"))?;
        let filter = ScanFilter {
            since,
            skip_admin_folders: true,
            ..ScanFilter::default()
        };
        let scan = self.scan_tenant(tenant, &filter).await?;
        let not_indexed = super::planner::unsearched_notes(&scan.unsearched);
        let found = scan.hits;
        let mut hits: Vec<(MailboxRef, Vec<HeaderSummary>)> = Vec::new();
        // `scan_tenant` sorts by mailbox, so each mailbox's copies are contiguous.
        for (_, mailbox, summary) in found {
            match hits.last_mut() {
                Some((last, summaries)) if last.address == mailbox.address => {
                    summaries.push(summary)
                }
                _ => hits.push((mailbox, vec![summary])),
            }
        }
        Ok(IndexScan { hits, not_indexed })
    }
}
