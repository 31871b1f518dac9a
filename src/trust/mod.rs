//! What makes the service's word checkable: its Ed25519 signing key, and the witness, an
//! append-only file outside the store that remembers where the audit chain's head was.
//!
//! The store alone can only show that its rows agree with each other: whoever can write the
//! file can cut the tail, roll it back, or rewrite it consistently. A signature made with a
//! key only the service account can read, and a chain head written somewhere the store's
//! writer cannot rewrite, turn those into detectable events. `audit verify` needs only the
//! public key and the witness, never the secret.
//!
//! Nothing here touches SQL (that is `store`) or decides what to sign (the store signs audit
//! records, the engine signs jobs); this module only keeps the key and the witness honest.

pub mod job;
pub mod key;
pub mod ring;
pub mod verify;
pub mod witness;

pub use job::{JobTarget, SignedJob};
pub use key::{KEY_FILE, PUBLIC_KEY_FILE, PublicKey, Purpose, ServiceKey};
pub use ring::{KeyRing, KeyTally, Rejected, RetiredKey, SignedThing};
pub use witness::{StoredHead, Witness, WitnessEntry, first_contradiction};

/// A key or witness that cannot be used, with the file and the reason.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file could not be read or written.
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// The file is there but is not what it should be (mode, owner, format).
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl TrustError {
    fn io(path: &std::path::Path, e: std::io::Error) -> Self {
        TrustError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }

    fn invalid(path: &std::path::Path, reason: impl Into<String>) -> Self {
        TrustError::Invalid {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }
}
