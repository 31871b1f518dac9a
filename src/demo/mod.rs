//! Demo generator (placeholder until the generator lands).
use std::path::{Path, PathBuf};

/// What was created.
pub struct DemoSummary { pub config_path: PathBuf, pub log_path: PathBuf, pub mail_root: PathBuf, pub mailboxes: usize, pub messages: usize, pub campaign_message_id: String, pub hostile_message_id: String, pub hold_mailbox: String }
/// A failure naming the path.
#[derive(Debug)]
pub struct DemoError(pub String);
impl std::fmt::Display for DemoError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) } }
/// Generate.
pub fn generate(_dir: &Path, _now: chrono::DateTime<chrono::Utc>) -> Result<DemoSummary, DemoError> { Err(DemoError("not yet".into())) }
