//! `store_status`: the store's place, size, live workers, and the files of it other users
//! could read.

use crate::api::types::StoreStatus;
use crate::engine::Engine;
use crate::store::{STORE_DIR_MODE, STORE_FILE_MODE, loose_modes};

/// What `check` says of the store.
pub(super) fn store_status(engine: &Engine, alive_within_ms: i64) -> StoreStatus {
    let store = engine.store();
    StoreStatus {
        path: store.place(),
        messages: store.message_count().map_err(|e| e.to_string()),
        // A team store's files are the database server's to protect.
        warnings: store
            .sqlite_path()
            .map(store_file_warnings)
            .unwrap_or_default(),
        live_workers: store.live_workers(alive_within_ms).ok(),
    }
}

/// Store files or directories other users could read (the log, the audit, the evidence of
/// hard-deleted mail), with the fix.
fn store_file_warnings(store: &std::path::Path) -> Vec<String> {
    loose_modes(store)
        .into_iter()
        .map(|(path, mode)| {
            let wanted = if path.is_dir() {
                STORE_DIR_MODE
            } else {
                STORE_FILE_MODE
            };
            format!(
                "{} is mode {mode:04o}, open to other users; chmod {wanted:o} it (or {:o} for a group that shares the store)",
                path.display(),
                wanted | (wanted >> 3)
            )
        })
        .collect()
}
