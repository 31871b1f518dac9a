//! Anchoring the audit: the signing process writes the chain head to the witness every
//! `[audit] witness_every` records and at least once a minute while records are added, so a
//! store cut back, rolled back or replaced contradicts something it cannot rewrite.
//!
//! Only a committed head is ever read, so a failed append is never witnessed. A witness that
//! cannot be written is logged and tried again on the next call: the audit in the store is
//! still complete, and the job that wrote it must not fail for the witness's sake.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::Engine;
use crate::trust::{Witness, WitnessEntry};

/// However few records were added, the head is witnessed after this long.
pub const WITNESS_AT_LEAST_EVERY: Duration = Duration::from_secs(60);

/// Where this process's witnessing stands.
#[derive(Debug)]
pub(super) struct AnchorState {
    /// The last head witnessed (`None`: not yet read from the witness file).
    last_seq: Option<i64>,
    last_at: Instant,
}

impl AnchorState {
    pub(super) fn new() -> Mutex<AnchorState> {
        Mutex::new(AnchorState {
            last_seq: None,
            last_at: Instant::now(),
        })
    }
}

impl Engine {
    /// Witness the chain head if enough records were added since the last entry, or a minute
    /// has passed with some added. The timer of a signing process (the service, a signing
    /// worker) calls this every second. Returns whether an entry was written.
    pub fn anchor_if_due(&self) -> bool {
        self.anchor(false)
    }

    /// Witness the chain head now if any record was added since the last entry (a signing
    /// process does this before it exits).
    pub fn anchor_now(&self) -> bool {
        self.anchor(true)
    }

    fn anchor(&self, force: bool) -> bool {
        let (Some(key), Some(path)) = (self.store.signer(), self.config.audit.witness.as_ref())
        else {
            return false;
        };
        let witness = Witness::at(path);
        let mut state = self.anchor_state.lock().unwrap_or_else(|e| e.into_inner());
        let last_seq = match state.last_seq {
            Some(seq) => seq,
            None => match witness.entries() {
                Ok(entries) => *state.last_seq.insert(entries.last().map_or(0, |e| e.seq)),
                Err(e) => {
                    tracing::warn!("audit witness: {e}; will try again");
                    return false;
                }
            },
        };
        let (seq, hash) = match self.store.audit_head() {
            Ok(Some(head)) => head,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!("audit witness: reading the chain head: {e}; will try again");
                return false;
            }
        };
        let added = seq - last_seq;
        let due = added > 0
            && (force
                || added >= i64::try_from(self.config.audit.witness_every).unwrap_or(i64::MAX)
                || state.last_at.elapsed() >= WITNESS_AT_LEAST_EVERY);
        if !due {
            return false;
        }
        match witness.append(&WitnessEntry::new(key, seq, &hash, Utc::now())) {
            Ok(()) => {
                state.last_seq = Some(seq);
                state.last_at = Instant::now();
                true
            }
            Err(e) => {
                tracing::warn!("audit witness: {e}; will try again");
                false
            }
        }
    }
}

/// A signing process's last records are witnessed as it ends, however it ends its work (a
/// `retract` that only queued, a worker that ran out of items).
impl Drop for Engine {
    fn drop(&mut self) {
        self.anchor_now();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::engine::Actor;
    use crate::model::Role;
    use crate::store::{NewAudit, Store};
    use crate::trust::ServiceKey;

    fn signing_engine(dir: &std::path::Path) -> Engine {
        let config = Config::parse(
            "[audit]\nwitness = \"w/audit.witness\"\nwitness_every = 3\n",
            &dir.join("config.toml"),
        )
        .unwrap();
        let store = Arc::new(Store::open(&dir.join("t.db")).unwrap());
        store
            .set_signer(Arc::new(ServiceKey::load_or_create(dir).unwrap()))
            .unwrap();
        let actor = Actor {
            login: "svc".into(),
            ssh_from: None,
            role: Role::Admin,
        };
        Engine::new(Arc::new(config), store, actor)
    }

    fn add_records(engine: &Engine, n: usize) {
        for i in 0..n {
            engine
                .store()
                .audit(&NewAudit {
                    actor: "alice".into(),
                    role: "analyst".into(),
                    action: "retract".into(),
                    target: format!("<m{i}@x>"),
                    outcome: "queued".into(),
                    ..NewAudit::default()
                })
                .unwrap();
        }
    }

    #[test]
    fn the_head_is_witnessed_every_n_records_and_a_failed_write_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let engine = signing_engine(dir.path());
        let witness = Witness::at(&dir.path().join("w/audit.witness"));
        add_records(&engine, 2);
        assert!(!engine.anchor_if_due(), "2 of 3 records: not due yet");
        add_records(&engine, 1);
        // The witness's directory is missing: the write fails, is logged, and nothing breaks.
        assert!(!engine.anchor_if_due());
        std::fs::create_dir(dir.path().join("w")).unwrap();
        assert!(engine.anchor_if_due(), "retried on the next call");
        let entries = witness.entries().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].seq, 3);
        assert!(entries[0].verifies(&engine.store().signer().unwrap().public()));
        assert!(!engine.anchor_if_due(), "nothing new");
        add_records(&engine, 1);
        assert!(!engine.anchor_if_due());
        assert!(
            engine.anchor_now(),
            "a process that ends witnesses what it added"
        );
        assert_eq!(witness.entries().unwrap().last().map(|e| e.seq), Some(4));
        // One record, but the last entry is over a minute old: due.
        add_records(&engine, 1);
        assert!(!engine.anchor_if_due());
        if let Some(earlier) = Instant::now().checked_sub(WITNESS_AT_LEAST_EVERY) {
            engine.anchor_state.lock().unwrap().last_at = earlier;
            assert!(engine.anchor_if_due(), "a minute with records added");
        }
        engine.anchor_now();
        assert_eq!(witness.entries().unwrap().last().map(|e| e.seq), Some(5));
        // A new process continues from where the witness left off.
        drop(engine);
        let again = signing_engine(dir.path());
        assert!(!again.anchor_now(), "head 5 is witnessed already");
    }

    #[test]
    fn a_process_without_the_key_never_writes_the_witness() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::parse(
            "[audit]\nwitness = \"audit.witness\"\nwitness_every = 1\n",
            &dir.path().join("config.toml"),
        )
        .unwrap();
        let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
        let actor = Actor {
            login: "alice".into(),
            ssh_from: None,
            role: Role::Admin,
        };
        let engine = Engine::new(Arc::new(config), store, actor);
        add_records(&engine, 2);
        assert!(!engine.anchor_now());
        assert!(!dir.path().join("audit.witness").exists());
    }
}
