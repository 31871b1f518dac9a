//! The `[service]` keys of `retractor serve`: where its socket is and which group may use it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::alerts::{RawWebhook, WebhookSettings};

/// Where `retractor serve` listens when the config does not say.
pub const DEFAULT_SOCKET: &str = "/run/retractor/retractor.sock";

/// The `[service]` table: the socket of `retractor serve` and where its key lives.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSettings {
    /// The Unix socket clients connect to (`--connect`).
    pub socket: PathBuf,
    /// The group that may connect: the socket is made mode 0660 and given this group. `None`:
    /// the service account's own group, so only that account (and root) may connect.
    pub group: Option<String>,
    /// The directory holding `service.key` and `service.pub` (default: the store's directory).
    pub key_dir: Option<PathBuf>,
    /// Public keys the service signed with before a key change, still trusted for what they
    /// signed (`trust::ring`).
    pub trusted_keys: Vec<TrustedKeySetting>,
    /// `[service.webhook]` as written; checked into [`ServiceSettings::webhook`].
    #[serde(rename = "webhook")]
    raw_webhook: Option<RawWebhook>,
    /// The HTTPS webhook for alerts, when `[service.webhook]` is present.
    #[serde(skip)]
    pub webhook: Option<WebhookSettings>,
}

/// One `[service] trusted_keys` entry: a retired key's public file and how far it is trusted.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeySetting {
    /// The retired key's `service.pub` (kept when the key was changed).
    pub file: PathBuf,
    /// The last audit record it signed (`audit verify --json`'s `signed_by`); later records
    /// signed with it are refused. Unset while the change is still rolling over the hosts.
    pub last_record: Option<i64>,
    /// The last job it signed; a later job signed with it is refused.
    pub last_job: Option<i64>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            socket: PathBuf::from(DEFAULT_SOCKET),
            group: None,
            key_dir: None,
            trusted_keys: Vec::new(),
            raw_webhook: None,
            webhook: None,
        }
    }
}

impl ServiceSettings {
    /// A relative socket path is relative to the config file's directory, as the store's is.
    pub(super) fn resolve(mut self, base: &Path) -> Result<ServiceSettings, String> {
        if self.socket.as_os_str().is_empty() {
            return Err("[service] socket is empty: name the socket's path".into());
        }
        if let Some(group) = &self.group
            && group.trim().is_empty()
        {
            return Err("[service] group is empty: name a group, or leave the key out".into());
        }
        self.socket = base.join(&self.socket);
        self.key_dir = self.key_dir.map(|d| base.join(d));
        for (i, t) in self.trusted_keys.iter_mut().enumerate() {
            let entry = i + 1;
            if t.file.as_os_str().is_empty() {
                return Err(format!(
                    "[service] trusted_keys entry {entry}: file is empty: name a retired key's .pub file"
                ));
            }
            for (name, bound) in [("last_record", t.last_record), ("last_job", t.last_job)] {
                if bound.is_some_and(|n| n < 1) {
                    return Err(format!(
                        "[service] trusted_keys entry {entry}: {name} must be 1 or more"
                    ));
                }
            }
            t.file = base.join(&t.file);
        }
        self.webhook = match self.raw_webhook.take() {
            Some(raw) => Some(raw.resolve(base)?),
            None => None,
        };
        Ok(self)
    }

    /// Where the key is: `key_dir`, or the store's directory.
    pub fn key_dir_for(&self, store_path: &Path) -> PathBuf {
        self.key_dir
            .clone()
            .unwrap_or_else(|| crate::trust::key::key_dir(store_path))
    }
}
