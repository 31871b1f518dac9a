//! The witness: an append-only file outside the store where the service writes the audit
//! chain's head (sequence, hash, signature) every few records and at least once a minute.
//!
//! A store cut back, rolled back to an older copy, replaced or truncated still verifies on
//! its own; it cannot also agree with a head it once had that the witness remembers. The
//! file is only ever opened `O_APPEND` (so `chattr +a` on it, or a remote syslog copy, keeps
//! even the service from rewriting it), one JSON line per entry, each signed.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{KeyRing, PublicKey, Purpose, Rejected, ServiceKey, SignedThing, TrustError};

/// Longest witness line read back; anything longer is not ours.
const MAX_LINE: usize = 4096;

/// One remembered chain head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessEntry {
    /// The audit record's sequence number (its place in the chain).
    pub seq: i64,
    /// That record's chain hash.
    pub hash: String,
    /// When the head was written down.
    pub at: DateTime<Utc>,
    /// The signing key's fingerprint.
    pub key: String,
    /// The service's signature over seq, hash and time.
    pub sig: String,
}

impl WitnessEntry {
    fn signed_message(seq: i64, hash: &str, at: &DateTime<Utc>) -> Vec<u8> {
        format!(
            "{seq}:{hash}:{}",
            at.to_rfc3339_opts(SecondsFormat::Millis, true)
        )
        .into_bytes()
    }

    /// A signed entry for the head `seq`/`hash` now.
    pub fn new(key: &ServiceKey, seq: i64, hash: &str, at: DateTime<Utc>) -> WitnessEntry {
        // Stored at millisecond precision, so sign exactly what is written.
        let at = DateTime::parse_from_rfc3339(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(at);
        WitnessEntry {
            seq,
            hash: hash.to_string(),
            at,
            key: key.public().fingerprint(),
            sig: key.sign(Purpose::WitnessEntry, &Self::signed_message(seq, hash, &at)),
        }
    }

    /// The key of `ring` that signed the entry, if one may have.
    pub fn signer<'r>(&self, ring: &'r KeyRing) -> Result<&'r PublicKey, Rejected> {
        ring.signer(
            Purpose::WitnessEntry,
            &Self::signed_message(self.seq, &self.hash, &self.at),
            &self.sig,
            SignedThing::Record(self.seq),
        )
    }

    /// Whether the entry is signed by `key`.
    pub fn verifies(&self, key: &PublicKey) -> bool {
        key.verify(
            Purpose::WitnessEntry,
            &Self::signed_message(self.seq, &self.hash, &self.at),
            &self.sig,
        )
    }
}

/// The witness file.
#[derive(Clone, Debug)]
pub struct Witness {
    path: PathBuf,
}

impl Witness {
    /// The witness at `path` (`[audit] witness`).
    pub fn at(path: &Path) -> Witness {
        Witness {
            path: path.to_path_buf(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one entry and flush it to disk. The file is created 0640 if missing, never
    /// followed through a link, and only ever opened for appending.
    pub fn append(&self, entry: &WitnessEntry) -> Result<(), TrustError> {
        let mut line = serde_json::to_string(entry)
            .map_err(|e| TrustError::invalid(&self.path, e.to_string()))?;
        line.push('\n');
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&self.path)
            .map_err(|e| TrustError::io(&self.path, e))?;
        // One write of one line: appends from two processes never interleave inside it.
        file.write_all(line.as_bytes())
            .and_then(|_| file.sync_data())
            .map_err(|e| TrustError::io(&self.path, e))
    }

    /// Every entry, oldest first. A line that is not an entry is an error naming its number:
    /// a witness someone wrote into cannot vouch for anything.
    pub fn entries(&self) -> Result<Vec<WitnessEntry>, TrustError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrustError::io(&self.path, e)),
        };
        let mut entries = Vec::new();
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| TrustError::io(&self.path, e))?;
            if read == 0 {
                break;
            }
            number += 1;
            if line.len() > MAX_LINE {
                return Err(TrustError::invalid(
                    &self.path,
                    format!("line {number}: longer than {MAX_LINE} bytes, not a witness entry"),
                ));
            }
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            let entry: WitnessEntry = serde_json::from_str(text.trim()).map_err(|e| {
                TrustError::invalid(
                    &self.path,
                    format!("line {number}: not a witness entry ({e})"),
                )
            })?;
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// What a store says about one of its records, for checking it against the witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredHead {
    /// The record is there with this chain hash.
    Present(String),
    /// The store has no record with this sequence number.
    Missing,
}

/// The first way the store contradicts the witness, if it does: an entry whose record is
/// gone (a cut tail, a rollback, a truncation) or carries another hash (a rewrite), or an
/// entry not signed by a key of the ring. `lookup` answers for one sequence number.
pub fn first_contradiction(
    entries: &[WitnessEntry],
    ring: &KeyRing,
    lookup: &mut dyn FnMut(i64) -> Result<StoredHead, String>,
) -> Result<Option<String>, String> {
    for (i, entry) in entries.iter().enumerate() {
        let at = entry.at.to_rfc3339_opts(SecondsFormat::Secs, true);
        if let Err(why) = entry.signer(ring) {
            return Ok(Some(format!(
                "witness entry {} (record {} at {at}) is {why}",
                i + 1,
                entry.seq,
            )));
        }
        match lookup(entry.seq)? {
            StoredHead::Present(hash) if hash == entry.hash => {}
            StoredHead::Present(_) => {
                return Ok(Some(format!(
                    "record {} differs from witness entry {} (written {at}): the record was rewritten",
                    entry.seq,
                    i + 1
                )));
            }
            StoredHead::Missing => {
                return Ok(Some(format!(
                    "record {} is missing, though witness entry {} (written {at}) saw it: the trail was cut, rolled back or replaced",
                    entry.seq,
                    i + 1
                )));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::key::temp_key as new_key;

    #[test]
    fn entries_round_trip_and_a_store_that_lost_or_changed_a_record_is_named() {
        let (dir, key) = new_key();
        let witness = Witness::at(&dir.path().join("audit.witness"));
        for (seq, hash) in [(10, "aa"), (20, "bb")] {
            witness
                .append(&WitnessEntry::new(&key, seq, hash, Utc::now()))
                .unwrap();
        }
        let entries = witness.entries().unwrap();
        assert_eq!(entries.len(), 2);
        let public = key.public();
        let mut intact = |seq| {
            Ok(StoredHead::Present(
                if seq == 10 { "aa" } else { "bb" }.into(),
            ))
        };
        assert_eq!(
            first_contradiction(&entries, &KeyRing::single(public), &mut intact),
            Ok(None)
        );
        let mut cut = |seq| {
            Ok(if seq == 10 {
                StoredHead::Present("aa".into())
            } else {
                StoredHead::Missing
            })
        };
        let found = first_contradiction(&entries, &KeyRing::single(public), &mut cut)
            .unwrap()
            .unwrap();
        assert!(found.starts_with("record 20 is missing"), "{found}");
        let mut rewritten = |_| Ok(StoredHead::Present("zz".into()));
        let found = first_contradiction(&entries, &KeyRing::single(public), &mut rewritten)
            .unwrap()
            .unwrap();
        assert!(
            found.contains("record 10 differs from witness entry 1"),
            "{found}"
        );
    }

    #[test]
    fn a_forged_or_garbled_entry_is_refused() {
        let (dir, key) = new_key();
        let (_other_dir, other) = new_key();
        let witness = Witness::at(&dir.path().join("audit.witness"));
        witness
            .append(&WitnessEntry::new(&other, 5, "aa", Utc::now()))
            .unwrap();
        let entries = witness.entries().unwrap();
        let mut lookup = |_| Ok(StoredHead::Present("aa".into()));
        let found = first_contradiction(&entries, &KeyRing::single(key.public()), &mut lookup)
            .unwrap()
            .unwrap();
        assert!(
            found.contains("is not signed by the service key"),
            "{found}"
        );
        std::fs::write(witness.path(), "{\"seq\":1}\n").unwrap();
        let e = witness.entries().unwrap_err().to_string();
        assert!(e.contains("line 1: not a witness entry"), "{e}");
    }

    #[test]
    fn a_witness_that_is_a_link_is_not_written_through() {
        let (dir, key) = new_key();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "").unwrap();
        let link = dir.path().join("audit.witness");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(
            Witness::at(&link)
                .append(&WitnessEntry::new(&key, 1, "aa", Utc::now()))
                .is_err()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
    }
}
