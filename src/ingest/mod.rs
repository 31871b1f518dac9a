//! Message-log sources turned into log rows. Ingest never acts on a mailbox.

pub mod jsonl;

use crate::config::Config;
use crate::model::{MessageRecord, normalize_address};
use crate::store::{IngestStats, NewMessage, Store, StoreError};

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
    pub rejected: Vec<Rejected>,
}

impl IngestReport {
    fn add(&mut self, stats: IngestStats) {
        self.inserted += stats.inserted;
        self.merged += stats.merged;
    }
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
