//! The `[audit]` and `[service]` keys that decide where the service's key lives and where the
//! audit chain's head is witnessed.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Witness every this many records unless a config says otherwise.
pub const DEFAULT_WITNESS_EVERY: u64 = 100;

/// The `[audit]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// The append-only file the signing process writes the chain head to (`None`: no witness).
    pub witness: Option<PathBuf>,
    /// Write the head after this many new records (and at least once a minute while records
    /// are added).
    pub witness_every: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            witness: None,
            witness_every: DEFAULT_WITNESS_EVERY,
        }
    }
}

/// The `[service]` keys about the service's key.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSettings {
    /// The directory holding `service.key` and `service.pub` (default: the store's directory).
    pub key_dir: Option<PathBuf>,
}

impl AuditSettings {
    /// Relative paths are relative to the config file's directory, as the store's path is.
    pub(super) fn resolve(mut self, base: &Path) -> Result<AuditSettings, String> {
        if self.witness_every == 0 {
            return Err("witness_every must be at least 1".into());
        }
        self.witness = self.witness.map(|w| base.join(w));
        Ok(self)
    }
}

impl ServiceSettings {
    pub(super) fn resolve(mut self, base: &Path) -> ServiceSettings {
        self.key_dir = self.key_dir.map(|d| base.join(d));
        self
    }

    /// Where the key is: `key_dir`, or the store's directory.
    pub fn key_dir_for(&self, store_path: &Path) -> PathBuf {
        self.key_dir
            .clone()
            .unwrap_or_else(|| crate::trust::key::key_dir(store_path))
    }
}
