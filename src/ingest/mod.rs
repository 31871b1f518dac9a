//! Message-log sources turned into log rows. Ingest never acts on a mailbox.

mod decode;
pub mod jsonl;
mod lines;
pub mod m365_trace;
pub mod postfix;

use std::collections::BTreeMap;

use crate::config::Config;
use crate::model::{MessageRecord, normalize_address};
use crate::store::{IngestStats, NewMessage, Store, StoreError};

/// How many skipped lines a report names one by one.
pub const MAX_REJECTED_KEPT: usize = 1000;

/// A record that could not be loaded, and where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// What an ingest run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub records: u64,
    pub inserted: u64,
    pub merged: u64,
    /// The first [`MAX_REJECTED_KEPT`] lines skipped, with why; `rejected_total` counts them
    /// all (a file of garbage must not be held line by line).
    pub rejected: Vec<Rejected>,
    pub rejected_total: u64,
    /// Lines that are not about message delivery at all (other daemons, connection noise).
    pub ignored: u64,
    /// Messages seen in the log that cannot become a record: no Message-ID, no sender, or no
    /// recipient the message was delivered to.
    pub incomplete: u64,
    /// Per-recipient entries left out because the message did not reach that mailbox, by
    /// the source's own status word (lowercase): "failed", "quarantined", ...
    pub not_delivered: BTreeMap<String, u64>,
    /// Recipients a Postfix queue handed to a content filter or another local queue that the
    /// log never shows (the first [`MAX_REJECTED_KEPT`], with the hand-off's line): their
    /// fate is unknown, so no delivery is recorded for them.
    pub unresolved_handoffs: Vec<Rejected>,
    pub unresolved_handoffs_total: u64,
}

impl IngestReport {
    fn add(&mut self, stats: IngestStats) {
        self.inserted += stats.inserted;
        self.merged += stats.merged;
    }
}

/// Why an ingest run stopped before loading anything, or part way.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The input as a whole is unusable (a required column is missing); nothing was loaded.
    #[error("{0}")]
    BadInput(String),
    /// The store failed; what was flushed before stays loaded.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records are committed in batches of this many: large enough that SQLite's per-transaction
/// cost vanishes, small enough that other processes are not locked out for long.
pub const BATCH: usize = 5_000;

/// Decides each record's tenant and which recipients are outside it.
pub struct TenantResolver<'a> {
    config: &'a Config,
    forced: Option<&'a str>,
}

impl<'a> TenantResolver<'a> {
    /// `forced` is `--tenant`; it must name a configured tenant.
    pub fn new(config: &'a Config, forced: Option<&'a str>) -> Result<Self, String> {
        if let Some(t) = forced
            && config.tenant(t).is_none()
        {
            return Err(unknown_tenant(config, t));
        }
        Ok(TenantResolver { config, forced })
    }

    /// The tenant name and (recipient, external) pairs for a record.
    pub fn resolve(&self, record: &MessageRecord) -> Result<(String, Vec<(String, bool)>), String> {
        let recipients = record.recipients();
        let tenant = match (self.forced, record.tenant.as_deref()) {
            (Some(forced), _) => self.config.tenant(forced),
            (None, Some(named)) => Some(
                self.config
                    .tenant(named)
                    .ok_or_else(|| unknown_tenant(self.config, named))?,
            ),
            (None, None) => recipients
                .iter()
                .find_map(|r| self.config.tenant_for_address(r))
                .or_else(|| {
                    (self.config.tenants.len() == 1)
                        .then(|| self.config.tenants.values().next())
                        .flatten()
                }),
        };
        let tenant = tenant.ok_or_else(|| {
            "no tenant: no recipient is in a configured domain; add a \"tenant\" field or pass --tenant"
                .to_string()
        })?;
        let marked = recipients
            .into_iter()
            .map(|r| {
                let external = !tenant.owns(&r);
                (r, external)
            })
            .collect();
        Ok((tenant.name.clone(), marked))
    }
}

fn unknown_tenant(config: &Config, name: &str) -> String {
    let known: Vec<&str> = config.tenants.keys().map(String::as_str).collect();
    if known.is_empty() {
        format!("unknown tenant '{name}': the config defines no tenants")
    } else {
        format!(
            "unknown tenant '{name}': configured tenants are {}",
            known.join(", ")
        )
    }
}

/// Check the fields every record needs; the message names the first one missing.
pub fn validate(record: &MessageRecord) -> Result<(), String> {
    if record.message_id.trim().trim_matches(['<', '>']).is_empty() {
        return Err("\"message_id\" is empty".into());
    }
    if normalize_address(&record.from).is_empty() {
        return Err("\"from\" is empty".into());
    }
    if record.recipients().is_empty() {
        return Err("\"to\" has no recipient".into());
    }
    // The store keeps sizes as SQLite integers (i64); a larger one would wrap to a negative.
    if let Some(size) = record.size
        && i64::try_from(size).is_err()
    {
        return Err(format!(
            "\"size\" {size} is larger than the largest size the log holds ({})",
            i64::MAX
        ));
    }
    Ok(())
}

/// A record with its tenant and (recipient, external) pairs decided.
pub type Resolved = (String, Vec<(String, bool)>, MessageRecord);

/// Insert resolved records, returning the store's counts.
pub(crate) fn flush(
    store: &Store,
    pending: &mut Vec<Resolved>,
    report: &mut IngestReport,
) -> Result<(), StoreError> {
    if pending.is_empty() {
        return Ok(());
    }
    let batch: Vec<NewMessage<'_>> = pending
        .iter()
        .map(|(tenant, recipients, record)| NewMessage {
            record,
            tenant,
            recipients: recipients.clone(),
        })
        .collect();
    let stats = store.insert_messages(&batch)?;
    report.add(stats);
    pending.clear();
    Ok(())
}

/// Validates, resolves and batches assembled records for the formats that build a record from
/// several lines, so each of them rejects and counts the same way `jsonl` does.
pub(crate) struct Loader<'a> {
    store: &'a Store,
    resolver: &'a TenantResolver<'a>,
    pending: Vec<Resolved>,
    pub report: IngestReport,
}

impl<'a> Loader<'a> {
    pub(crate) fn new(store: &'a Store, resolver: &'a TenantResolver<'a>) -> Self {
        Loader {
            store,
            resolver,
            pending: Vec::with_capacity(BATCH),
            report: IngestReport::default(),
        }
    }

    /// Queue one record; `line` is where it started in the input, for the rejection message.
    pub(crate) fn push(&mut self, line: u64, record: MessageRecord) -> Result<(), StoreError> {
        self.report.records += 1;
        match validate(&record).and_then(|()| self.resolver.resolve(&record)) {
            Ok((tenant, recipients)) => self.pending.push((tenant, recipients, record)),
            Err(reason) => self.reject(line, reason),
        }
        if self.pending.len() >= BATCH {
            flush(self.store, &mut self.pending, &mut self.report)?;
        }
        Ok(())
    }

    pub(crate) fn reject(&mut self, line: u64, reason: impl Into<String>) {
        self.report.rejected_total += 1;
        if self.report.rejected.len() < MAX_REJECTED_KEPT {
            self.report.rejected.push(Rejected {
                line,
                reason: reason.into(),
            });
        }
    }

    pub(crate) fn not_delivered(&mut self, status: &str) {
        *self
            .report
            .not_delivered
            .entry(status.to_ascii_lowercase())
            .or_default() += 1;
    }

    pub(crate) fn finish(mut self) -> Result<IngestReport, StoreError> {
        flush(self.store, &mut self.pending, &mut self.report)?;
        Ok(self.report)
    }
}

/// The envelope sender as the log should show it. The null sender (`<>`, bounces and other
/// notifications) is a real delivery, and `validate` refuses an empty sender, so it is logged
/// under the name mail systems show for it.
pub(crate) fn envelope_sender(raw: &str) -> String {
    let address = normalize_address(raw);
    if address.is_empty() {
        "MAILER-DAEMON".into()
    } else {
        address
    }
}

/// The one-tenant config (`corp`, domain corp.test) the format tests load against.
#[cfg(test)]
pub(crate) fn test_config() -> Config {
    match Config::parse(
        "[tenants.corp]\nkind = \"maildir\"\nroot = \"m\"\ndomains = [\"corp.test\"]\n",
        std::path::Path::new("/tmp/c.toml"),
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}
