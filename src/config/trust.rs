//! The `[audit]` keys: where the audit chain's head is witnessed (the service's key directory
//! is a `[service]` key, in `service.rs`).

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
