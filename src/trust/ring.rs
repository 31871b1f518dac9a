//! The keys whose signatures are accepted: the service's own key and, after a key change, the
//! retired keys `[service] trusted_keys` still trusts for what they signed before it.
//!
//! A key change on a team's services is rolling: for a while some hosts sign with the old key
//! and some with the new one, and the audit chain interleaves them. So a retired key cannot be
//! refused just because a newer one signed earlier records. What bounds it instead is where the
//! change fell, once it is over: `last_record` and `last_job` (the verdict's `signed_by` tells
//! the old key's last record). A retired key that signs past its bound (it leaked, and someone
//! is writing with it) is refused like any stranger's.

use serde::{Deserialize, Serialize};

use super::{PublicKey, Purpose, TrustError};
use crate::config::TrustedKeySetting;

/// A key that signed before a key change and is still trusted for that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetiredKey {
    pub key: PublicKey,
    /// The last audit record (and witness entry) it may have signed; `None`: no bound yet.
    pub last_record: Option<i64>,
    /// The last job it may have signed; `None`: no bound yet.
    pub last_job: Option<i64>,
}

impl RetiredKey {
    /// The retired keys `[service] trusted_keys` names, read from their files. A file group
    /// or others can write, or a link, is refused: whoever could change it could make the
    /// service accept their own signatures.
    pub fn load_all(settings: &[TrustedKeySetting]) -> Result<Vec<RetiredKey>, TrustError> {
        settings
            .iter()
            .map(|s| {
                let meta = std::fs::symlink_metadata(&s.file)
                    .map_err(|e| TrustError::io(&s.file, e))?;
                if !meta.file_type().is_file() {
                    return Err(TrustError::invalid(&s.file, "not a regular file"));
                }
                if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o022 != 0 {
                    return Err(TrustError::invalid(
                        &s.file,
                        "writable by group or others: anyone who can change it could add their own key (chmod go-w)",
                    ));
                }
                Ok(RetiredKey {
                    key: PublicKey::from_file(&s.file)?,
                    last_record: s.last_record,
                    last_job: s.last_job,
                })
            })
            .collect()
    }
}

/// What a signature is on, which decides how far a retired key reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedThing {
    /// Audit record `seq` (also a witness entry for the head at `seq`).
    Record(i64),
    /// Job `id`.
    Job(i64),
}

/// Why a signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// None of the ring's keys made it.
    Unknown { keys: String },
    /// A retired key made it, past the bound it is trusted up to.
    PastRetirement {
        key: String,
        bound: &'static str,
        last: i64,
    },
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Unknown { keys } => write!(f, "not signed by {keys}"),
            Rejected::PastRetirement { key, bound, last } => write!(
                f,
                "signed with the retired key {key}, which [service] trusted_keys trusts only up to {bound} {last}"
            ),
        }
    }
}

/// How many records one key signed, and the last of them: where a key change fell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyTally {
    /// The key's fingerprint.
    pub key: String,
    pub records: u64,
    pub last_record: i64,
}

/// Count one record signed by `key` into `tallies` (kept in the order keys first signed).
pub fn tally(tallies: &mut Vec<KeyTally>, key: &PublicKey, seq: i64) {
    let fingerprint = key.fingerprint();
    match tallies.iter_mut().find(|t| t.key == fingerprint) {
        Some(t) => {
            t.records += 1;
            t.last_record = t.last_record.max(seq);
        }
        None => tallies.push(KeyTally {
            key: fingerprint,
            records: 1,
            last_record: seq,
        }),
    }
}

/// The service's key and the retired keys still trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRing {
    current: PublicKey,
    retired: Vec<RetiredKey>,
}

impl KeyRing {
    /// A ring of one key.
    pub fn single(current: PublicKey) -> KeyRing {
        KeyRing {
            current,
            retired: Vec::new(),
        }
    }

    /// The current key and the retired ones; a retired key that is the current one, or is
    /// listed twice, is a mistake in the config and named.
    pub fn new(current: PublicKey, retired: Vec<RetiredKey>) -> Result<KeyRing, String> {
        for (i, r) in retired.iter().enumerate() {
            if r.key == current {
                return Err(format!(
                    "[service] trusted_keys entry {} is the service's own key {}: list only retired keys",
                    i + 1,
                    current.fingerprint()
                ));
            }
            if retired[..i].iter().any(|o| o.key == r.key) {
                return Err(format!(
                    "[service] trusted_keys lists key {} twice",
                    r.key.fingerprint()
                ));
            }
        }
        Ok(KeyRing { current, retired })
    }

    /// The key signatures are made with now.
    pub fn current(&self) -> &PublicKey {
        &self.current
    }

    /// The retired keys, as configured.
    pub fn retired(&self) -> &[RetiredKey] {
        &self.retired
    }

    /// The key of the ring that made `signature` over `message` for `purpose`, if it may
    /// have signed `thing`.
    pub fn signer(
        &self,
        purpose: Purpose,
        message: &[u8],
        signature: &str,
        thing: SignedThing,
    ) -> Result<&PublicKey, Rejected> {
        if self.current.verify(purpose, message, signature) {
            return Ok(&self.current);
        }
        let Some(r) = self
            .retired
            .iter()
            .find(|r| r.key.verify(purpose, message, signature))
        else {
            return Err(Rejected::Unknown {
                keys: self.describe(),
            });
        };
        let (at, bound, last) = match thing {
            SignedThing::Record(seq) => (seq, "record", r.last_record),
            SignedThing::Job(id) => (id, "job", r.last_job),
        };
        match last {
            Some(last) if at > last => Err(Rejected::PastRetirement {
                key: r.key.fingerprint(),
                bound,
                last,
            }),
            _ => Ok(&r.key),
        }
    }

    /// The ring in words: "the service key K" or "the service key K or a retired key (R, S)".
    pub fn describe(&self) -> String {
        let current = format!("the service key {}", self.current.fingerprint());
        if self.retired.is_empty() {
            return current;
        }
        let retired: Vec<String> = self.retired.iter().map(|r| r.key.fingerprint()).collect();
        format!(
            "{current} or a trusted retired key ({})",
            retired.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::ServiceKey;
    use crate::trust::key::temp_key as key;

    #[test]
    fn a_retired_key_is_trusted_up_to_its_bound_and_a_strangers_never() {
        let ((_a, new), (_b, old), (_c, stranger)) = (key(), key(), key());
        let ring = KeyRing::new(
            new.public(),
            vec![RetiredKey {
                key: old.public(),
                last_record: Some(10),
                last_job: Some(3),
            }],
        )
        .unwrap();
        let sign = |k: &ServiceKey| k.sign(Purpose::AuditRecord, b"m");
        let record = |n| SignedThing::Record(n);
        assert_eq!(
            ring.signer(Purpose::AuditRecord, b"m", &sign(&new), record(99)),
            Ok(&new.public())
        );
        assert_eq!(
            ring.signer(Purpose::AuditRecord, b"m", &sign(&old), record(10)),
            Ok(&old.public())
        );
        let past = ring
            .signer(Purpose::AuditRecord, b"m", &sign(&old), record(11))
            .unwrap_err()
            .to_string();
        assert!(past.contains("trusts only up to record 10"), "{past}");
        // The job bound is its own.
        let job_sig = old.sign(Purpose::Job, b"m");
        assert!(
            ring.signer(Purpose::Job, b"m", &job_sig, SignedThing::Job(3))
                .is_ok()
        );
        assert!(
            ring.signer(Purpose::Job, b"m", &job_sig, SignedThing::Job(4))
                .is_err()
        );
        let unknown = ring
            .signer(Purpose::AuditRecord, b"m", &sign(&stranger), record(1))
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains(&new.public().fingerprint())
                && unknown.contains(&old.public().fingerprint()),
            "{unknown}"
        );
        // A signature for another purpose is no signature, whichever key made it.
        assert!(
            ring.signer(Purpose::Job, b"m", &sign(&new), SignedThing::Job(1))
                .is_err()
        );
    }

    #[test]
    fn the_own_key_or_a_repeat_in_the_retired_list_is_named() {
        let ((_a, new), (_b, old)) = (key(), key());
        let retired = |k: &ServiceKey| RetiredKey {
            key: k.public(),
            last_record: None,
            last_job: None,
        };
        let e = KeyRing::new(new.public(), vec![retired(&new)]).unwrap_err();
        assert!(e.contains("the service's own key"), "{e}");
        let e = KeyRing::new(new.public(), vec![retired(&old), retired(&old)]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn a_trusted_key_file_others_can_write_or_a_link_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, _) = key();
        let file = dir.path().join(crate::trust::PUBLIC_KEY_FILE);
        let setting = |file: &std::path::Path| TrustedKeySetting {
            file: file.to_path_buf(),
            last_record: None,
            last_job: None,
        };
        assert_eq!(RetiredKey::load_all(&[setting(&file)]).unwrap().len(), 1);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = RetiredKey::load_all(&[setting(&file)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link.pub");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let e = RetiredKey::load_all(&[setting(&link)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn tallies_count_each_key_and_its_last_record() {
        let ((_a, new), (_b, old)) = (key(), key());
        let mut t = Vec::new();
        for (k, seq) in [(&old, 1), (&old, 2), (&new, 3), (&old, 4), (&new, 5)] {
            tally(&mut t, &k.public(), seq);
        }
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].records, t[0].last_record), (3, 4));
        assert_eq!((t[1].records, t[1].last_record), (2, 5));
    }
}
