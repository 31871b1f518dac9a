//! What the backends that file by folder id (Graph, EWS) and by label (Gmail) share when a
//! processed phish report is filed: the levels of the configured folder, refused when there
//! are none, and the ids of the folder paths already resolved, so a report after the first
//! costs one move and no folder lookups.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::folder_names::folder_levels;
use crate::backends::{BackendError, ErrorKind};

/// The levels of `folder` (see [`folder_levels`]); an error when it names none, since a
/// report filed "nowhere" would stay in the inbox and be read again.
pub fn filing_levels(folder: &str) -> Result<Vec<&str>, BackendError> {
    let levels = folder_levels(folder);
    if levels.is_empty() {
        return Err(BackendError::new(
            ErrorKind::Internal,
            format!("no folder to file into ('{folder}')"),
        ));
    }
    Ok(levels)
}

/// The server ids of folder paths reports were filed into, by mailbox and path. A kept id
/// may go stale (someone deleted the folder): the caller forgets it and resolves again.
#[derive(Debug, Default)]
pub struct FiledFolders(Mutex<HashMap<String, String>>);

impl FiledFolders {
    /// The kept id of `levels` in `mailbox`, if resolved before.
    pub fn get(&self, mailbox: &str, levels: &[&str]) -> Option<String> {
        self.lock().get(&key(mailbox, levels)).cloned()
    }

    /// Keep `id` as the folder at `levels` in `mailbox`.
    pub fn remember(&self, mailbox: &str, levels: &[&str], id: &str) {
        self.lock().insert(key(mailbox, levels), id.to_string());
    }

    /// Drop the kept id of `levels` in `mailbox`.
    pub fn forget(&self, mailbox: &str, levels: &[&str]) {
        self.lock().remove(&key(mailbox, levels));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        // A panic elsewhere leaves the map whole (each operation is one call on it).
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The mailbox and the levels joined by NUL, which neither an address, a server's user id
/// nor a configured level holds.
fn key(mailbox: &str, levels: &[&str]) -> String {
    format!("{mailbox}\0{}", levels.join("\0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_with_no_levels_is_refused_by_name() {
        let e = filing_levels(" / ").err().map(|e| e.detail);
        assert_eq!(e.as_deref(), Some("no folder to file into (' / ')"));
        assert_eq!(filing_levels("a/b").ok(), Some(vec!["a", "b"]));
    }

    #[test]
    fn kept_ids_are_per_mailbox_and_path() {
        let kept = FiledFolders::default();
        kept.remember("u1", &["a", "b"], "id-1");
        assert_eq!(kept.get("u1", &["a", "b"]).as_deref(), Some("id-1"));
        assert_eq!(kept.get("u2", &["a", "b"]), None);
        kept.forget("u1", &["a", "b"]);
        assert_eq!(kept.get("u1", &["a", "b"]), None);
    }
}
