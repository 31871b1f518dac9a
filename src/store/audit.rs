//! The audit trail: append-only, hash-chained, written in the same transaction as what it records.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Now, Result, SqliteStore, StoreError};
use crate::trust::verify::ChainVerdict;
use crate::trust::{KeyRing, KeyTally, Purpose, SignedThing};

pub(super) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A record to append. The actor is the OS login, never free text typed by a user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewAudit {
    pub actor: String,
    pub ssh_from: Option<String>,
    pub role: String,
    pub action: String,
    pub target: String,
    pub reason: Option<String>,
    pub outcome: String,
    pub job: Option<i64>,
    pub detail: Option<String>,
}

/// A stored record.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub ssh_from: Option<String>,
    pub role: String,
    pub action: String,
    pub target: String,
    pub reason: Option<String>,
    pub outcome: String,
    pub job: Option<i64>,
    pub detail: Option<String>,
    /// `service` (written by the service, signed), `advisory` (no service: the role was the
    /// caller's own claim), or absent for records older than the distinction.
    pub authority: Option<String>,
    #[serde(skip)]
    pub(super) prev_hash: String,
    #[serde(skip)]
    pub(super) hash: String,
    #[serde(skip)]
    pub(super) sig: Option<String>,
}

/// Which records to list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub since: Option<DateTime<Utc>>,
    /// Records at or before this time (part of the query, so `limit` counts back from it).
    pub until: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    /// Records whose action starts with this text (`quarantine`, `restore`, `job-refused`).
    pub action: Option<String>,
    /// Records whose target contains this text (a Message-ID, a mailbox, a job).
    pub target: Option<String>,
    pub job: Option<i64>,
    pub limit: Option<usize>,
}

/// The result of checking the chain.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct AuditVerdict {
    pub ok: bool,
    pub records: u64,
    /// The first record that does not fit the chain (edited, or after a gap or reordering).
    pub first_bad: Option<i64>,
    pub problem: Option<String>,
    /// How many records carry a signature (checked when a public key was given).
    pub signed: u64,
    /// Per key that signed (when keys were given), its records and the last of them: after a
    /// key change, where it fell (`[service] trusted_keys`' `last_record`).
    #[serde(default)]
    pub signed_by: Vec<KeyTally>,
}

/// Written by the service with its key.
pub const AUTHORITY_SERVICE: &str = "service";
/// Written without a service: the role in the record was the caller's own claim.
pub const AUTHORITY_ADVISORY: &str = "advisory";

/// The last record a verification found intact: where the next one may start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditCheckpoint {
    pub seq: i64,
    pub hash: String,
    /// The counts up to it, so a walk from here reports the whole trail's.
    pub signed: u64,
    pub signed_by: Vec<KeyTally>,
}

/// A verification's verdict, and the checkpoint to continue from (only when the chain is
/// intact and not empty).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditProgress {
    pub verdict: AuditVerdict,
    pub checkpoint: Option<AuditCheckpoint>,
}

/// The hash of a record: every field, in a fixed order, with the previous record's hash. A
/// record from before authorities were kept (`None`) hashes as it did then, so old trails
/// still verify; every newer record's authority is covered.
pub(super) fn record_hash(
    seq: i64,
    e: &NewAudit,
    at: &str,
    prev_hash: &str,
    authority: Option<&str>,
) -> String {
    let fields = (
        seq,
        at,
        &e.actor,
        &e.ssh_from,
        &e.role,
        &e.action,
        &e.target,
        &e.reason,
        &e.outcome,
        e.job,
        &e.detail,
        prev_hash,
    );
    let canonical = match authority {
        None => serde_json::to_string(&fields),
        Some(a) => serde_json::to_string(&(fields, a)),
    }
    .unwrap_or_default();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Append one record inside the caller's transaction.
///
/// The chain needs its tail read and its new record written with nobody appending between:
/// here the write transaction's `BEGIN IMMEDIATE` is that lock (SQLite's one write lock, held
/// from the transaction's start). A multi-writer database must take an explicit lock before
/// reading the tail: `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`, or an
/// advisory lock named for the audit chain. Should an implementation forget, the head moves
/// only by compare-and-set and `audit.seq` is unique, so a second appender fails instead of
/// forking the chain.
pub(super) fn append(tx: &Transaction<'_>, now: Now, e: &NewAudit) -> Result<i64> {
    let head: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS.to_string()));
    let seq = prev_seq + 1;
    let at = now.audit_text();
    let authority = match now.1 {
        Some(_) => AUTHORITY_SERVICE,
        None => AUTHORITY_ADVISORY,
    };
    let hash = record_hash(seq, e, &at, &prev_hash, Some(authority));
    let sig = now
        .1
        .map(|key| key.sign(Purpose::AuditRecord, &record_signed_message(seq, &hash)));
    tx.prepare_cached(
        "INSERT INTO audit (seq, at, actor, ssh_from, role, action, target, reason, outcome, job,
                            detail, prev_hash, hash, authority, sig)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        seq, at, e.actor, e.ssh_from, e.role, e.action, e.target, e.reason, e.outcome, e.job,
        e.detail, prev_hash, hash, authority, sig
    ])?;
    let moved = tx
        .prepare_cached(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
             WHERE audit_head.seq = ?3 AND audit_head.hash = ?4",
        )?
        .execute(params![seq, hash, prev_seq, prev_hash])?;
    if moved != 1 {
        return Err(StoreError::Database(format!(
            "audit: the trail's head moved while record {seq} was appended; nothing was written"
        )));
    }
    Ok(seq)
}

fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        ssh_from: r.get(3)?,
        role: r.get(4)?,
        action: r.get(5)?,
        target: r.get(6)?,
        reason: r.get(7)?,
        outcome: r.get(8)?,
        job: r.get(9)?,
        detail: r.get(10)?,
        prev_hash: r.get(11)?,
        hash: r.get(12)?,
        authority: r.get(13)?,
        sig: r.get(14)?,
    })
}

/// What a record's signature covers: its place and its chain hash (which covers every field
/// and, through the previous hash, every record before it).
pub(super) fn record_signed_message(seq: i64, hash: &str) -> Vec<u8> {
    format!("{seq}:{hash}").into_bytes()
}

pub(super) const AUDIT_COLUMNS: &str = "seq, at, actor, ssh_from, role, action, target, reason, outcome, job, \
     detail, prev_hash, hash, authority, sig";

/// Whether the store has an audit table at all (a file truncated to 0 bytes opens as an
/// empty database).
fn has_audit_table(tx: &Transaction<'_>) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit'",
        )?
        .query_row([], |r| r.get::<_, i64>(0))?
        > 0)
}

impl SqliteStore {
    /// Append one record on its own.
    pub fn audit(&self, e: &NewAudit) -> Result<i64> {
        self.write(|tx, now| append(tx, now, e))
    }

    /// Records matching `filter`, oldest first (the last `limit` of them when limited).
    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let since = filter
            .since
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true));
        // Stored in this same fixed-width UTC form, so the text comparison is the time's.
        let until = filter
            .until
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true));
        let limit = filter.limit.map(|l| l as i64).unwrap_or(-1);
        self.read(|tx| {
            if !has_audit_table(tx)? {
                return Ok(Vec::new());
            }
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT * FROM (SELECT {AUDIT_COLUMNS} FROM audit
                  WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR job = ?3)
                    AND (?5 IS NULL OR at <= ?5)
                    AND (?6 IS NULL OR substr(action, 1, length(?6)) = ?6)
                    AND (?7 IS NULL OR instr(target, ?7) > 0)
                  ORDER BY seq DESC LIMIT ?4) ORDER BY seq"
            ))?;
            let rows = stmt.query_map(
                params![
                    since,
                    filter.actor,
                    filter.job,
                    limit,
                    until,
                    filter.action,
                    filter.target
                ],
                entry_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Walk the whole chain: every record must follow its predecessor, hash over its own fields
    /// to its stored hash, and the last must match the head kept beside the table. Signatures
    /// are checked with this process's own key when it signs.
    pub fn verify_audit(&self) -> Result<AuditVerdict> {
        Ok(self.verify_audit_from(None)?.verdict)
    }

    /// Verify the chain from a checkpoint a previous verification returned (`None`: from the
    /// first record). The checkpoint's record must still be there with the same hash; records
    /// before it are not re-read, so a caller that verifies often (the console, on every job
    /// change) reads only what was appended since. A full walk is [`Store::verify_audit`].
    pub fn verify_audit_from(&self, from: Option<&AuditCheckpoint>) -> Result<AuditProgress> {
        self.verify_audit_with(from, self.signer().map(|k| k.ring()))
    }

    /// [`Store::verify_audit_from`], checking every signature with the keys of `key` (`audit
    /// verify --key`, `[service] trusted_keys`). Without keys, signatures are counted but not checked; either way a record
    /// without a signature after a signed one is a finding: once a store is the service's,
    /// nothing else may write to its trail.
    pub fn verify_audit_with(
        &self,
        from: Option<&AuditCheckpoint>,
        key: Option<&KeyRing>,
    ) -> Result<AuditProgress> {
        self.read(|tx| {
            if !has_audit_table(tx)? {
                return Ok(ChainWalk::empty());
            }
            let start = match from {
                Some(cp) => {
                    let stored: Option<(String, Option<String>)> = tx
                        .query_row(
                            "SELECT hash, sig FROM audit WHERE seq = ?1",
                            params![cp.seq],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?;
                    match ChainWalk::from_checkpoint(cp, stored, key) {
                        Ok(walk) => walk,
                        Err(verdict) => return Ok(*verdict),
                    }
                }
                None => ChainWalk::from_start(key),
            };
            let mut walk = start;
            let mut stmt = tx.prepare(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE seq >= ?1 ORDER BY seq"
            ))?;
            let mut rows = stmt.query(params![walk.next_seq()])?;
            while let Some(row) = rows.next()? {
                if let Some(verdict) = walk.step(entry_from_row(row)?) {
                    return Ok(verdict);
                }
            }
            let head: Option<(i64, String)> = tx
                .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            Ok(walk.finish(head))
        })
    }

    /// The chain head: the newest record's sequence number and hash (`None`: no records).
    pub fn audit_head(&self) -> Result<Option<(i64, String)>> {
        self.read(|tx| {
            if !has_audit_table(tx)? {
                return Ok(None);
            }
            Ok(tx
                .query_row(
                    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
        })
    }

    /// The stored hash of record `seq`, if there is one (for checking the witness).
    pub fn audit_hash(&self, seq: i64) -> Result<Option<String>> {
        self.read(|tx| {
            if !has_audit_table(tx)? {
                return Ok(None);
            }
            Ok(tx
                .query_row("SELECT hash FROM audit WHERE seq = ?1", params![seq], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }
}

/// A walk along the chain, record by record, as both stores verify it: every record must
/// follow its predecessor, hash over its own fields to its stored hash, carry a signature
/// once one record did (checked with the ring's keys when given), and the last must match
/// the head.
pub(super) struct ChainWalk<'k> {
    key: Option<&'k KeyRing>,
    expected_seq: i64,
    prev_hash: String,
    seen_signed: bool,
    records: u64,
    signed: u64,
    signed_by: Vec<KeyTally>,
}

impl<'k> ChainWalk<'k> {
    /// The verdict on a trail without an audit table: empty and intact.
    pub(super) fn empty() -> AuditProgress {
        AuditProgress {
            verdict: AuditVerdict {
                ok: true,
                records: 0,
                first_bad: None,
                problem: None,
                signed: 0,
                signed_by: Vec::new(),
            },
            checkpoint: None,
        }
    }

    /// From the first record.
    pub(super) fn from_start(key: Option<&'k KeyRing>) -> ChainWalk<'k> {
        ChainWalk {
            key,
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            seen_signed: false,
            records: 0,
            signed: 0,
            signed_by: Vec::new(),
        }
    }

    /// From a checkpoint, given what the store holds at its place now (hash, signature);
    /// the verdict instead when that record changed or went missing.
    pub(super) fn from_checkpoint(
        cp: &AuditCheckpoint,
        stored: Option<(String, Option<String>)>,
        key: Option<&'k KeyRing>,
    ) -> std::result::Result<ChainWalk<'k>, Box<AuditProgress>> {
        match stored {
            // The chain up to the checkpoint is contiguous from 1: its length is its last seq.
            Some((hash, sig)) if hash == cp.hash => Ok(ChainWalk {
                key,
                expected_seq: cp.seq + 1,
                prev_hash: cp.hash.clone(),
                seen_signed: sig.is_some(),
                records: cp.seq as u64,
                signed: cp.signed,
                signed_by: cp.signed_by.clone(),
            }),
            _ => Err(Box::new(bad(
                cp.seq,
                format!(
                    "record {} changed or went missing after it was verified",
                    cp.seq
                ),
                cp.seq as u64,
                0,
            ))),
        }
    }

    /// The first sequence number the walk reads.
    pub(super) fn next_seq(&self) -> i64 {
        self.expected_seq
    }

    /// The next record, in sequence order; the verdict when it breaks the chain.
    pub(super) fn step(&mut self, e: AuditEntry) -> Option<AuditProgress> {
        self.records += 1;
        if e.seq != self.expected_seq {
            let expected = self.expected_seq;
            return Some(self.bad(
                expected,
                format!("record {expected} is missing (next is {})", e.seq),
            ));
        }
        if e.prev_hash != self.prev_hash {
            return Some(self.bad(
                e.seq,
                format!(
                    "record {}: link to record {} broken (it does not carry that record's hash)",
                    e.seq,
                    e.seq - 1
                ),
            ));
        }
        let fields = NewAudit {
            actor: e.actor.clone(),
            ssh_from: e.ssh_from.clone(),
            role: e.role.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            reason: e.reason.clone(),
            outcome: e.outcome.clone(),
            job: e.job,
            detail: e.detail.clone(),
        };
        if record_hash(e.seq, &fields, &e.at, &e.prev_hash, e.authority.as_deref()) != e.hash {
            return Some(self.bad(
                e.seq,
                format!(
                    "record {}: hash does not match its content (the record was altered)",
                    e.seq
                ),
            ));
        }
        match (&e.sig, self.key) {
            (Some(sig), Some(ring)) => {
                let message = record_signed_message(e.seq, &e.hash);
                match ring.signer(
                    Purpose::AuditRecord,
                    &message,
                    sig,
                    SignedThing::Record(e.seq),
                ) {
                    Ok(key) => {
                        crate::trust::ring::tally(&mut self.signed_by, key, e.seq);
                        self.signed += 1;
                        self.seen_signed = true;
                    }
                    Err(why) => {
                        return Some(self.bad(
                            e.seq,
                            format!(
                                "record {}: signature invalid: {why}; it was rewritten or inserted",
                                e.seq
                            ),
                        ));
                    }
                }
            }
            (Some(_), None) => {
                self.signed += 1;
                self.seen_signed = true;
            }
            (None, _) if self.seen_signed => {
                return Some(self.bad(
                    e.seq,
                    format!(
                        "record {} has no signature though records before it are signed: it was written without the service",
                        e.seq
                    )));
            }
            (None, _) => {}
        }
        self.prev_hash = e.hash;
        self.expected_seq += 1;
        None
    }

    /// The verdict once every record was read, given the head kept beside the table.
    pub(super) fn finish(self, head: Option<(i64, String)>) -> AuditProgress {
        let last_seq = self.expected_seq - 1;
        match head {
            Some((seq, hash)) if seq != last_seq || hash != self.prev_hash => self.bad(
                last_seq + 1,
                format!(
                    "the trail ends at record {last_seq} but its head says {seq}: records were cut off"
                ),
            ),
            None if self.records > 0 => self.bad(1, "the trail's head record is missing".into()),
            _ => AuditProgress {
                verdict: AuditVerdict {
                    ok: true,
                    records: self.records,
                    first_bad: None,
                    problem: None,
                    signed: self.signed,
                    signed_by: self.signed_by.clone(),
                },
                checkpoint: (last_seq > 0).then(|| AuditCheckpoint {
                    seq: last_seq,
                    hash: self.prev_hash.clone(),
                    signed: self.signed,
                    signed_by: self.signed_by,
                }),
            },
        }
    }

    /// The verdict that the chain breaks at `seq`, with the counts so far.
    fn bad(&self, seq: i64, problem: String) -> AuditProgress {
        let mut verdict = bad(seq, problem, self.records, self.signed);
        verdict.verdict.signed_by = self.signed_by.clone();
        verdict
    }
}

fn bad(seq: i64, problem: String, records: u64, signed: u64) -> AuditProgress {
    AuditProgress {
        verdict: AuditVerdict {
            ok: false,
            records,
            first_bad: Some(seq),
            problem: Some(problem),
            signed,
            signed_by: Vec::new(),
        },
        checkpoint: None,
    }
}

impl From<AuditVerdict> for ChainVerdict {
    fn from(v: AuditVerdict) -> Self {
        ChainVerdict {
            ok: v.ok,
            records: v.records,
            first_bad: v.first_bad,
            problem: v.problem,
            signed: v.signed,
            signed_by: v.signed_by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::temp_sqlite as temp_store;

    fn entry(n: usize) -> NewAudit {
        NewAudit {
            actor: "alice".into(),
            role: "analyst".into(),
            action: "retract".into(),
            target: format!("<m{n}@x>"),
            outcome: "queued".into(),
            ..NewAudit::default()
        }
    }

    #[test]
    fn an_intact_chain_verifies() -> Result<()> {
        let (_d, store) = temp_store();
        for n in 0..5 {
            store.audit(&entry(n))?;
        }
        let v = store.verify_audit()?;
        assert!(v.ok, "{v:?}");
        assert_eq!(v.records, 5);
        Ok(())
    }

    #[test]
    fn verification_continues_from_its_checkpoint() -> Result<()> {
        let (_d, store) = temp_store();
        for n in 0..3 {
            store.audit(&entry(n))?;
        }
        let first = store.verify_audit_from(None)?;
        assert!(first.verdict.ok, "{first:?}");
        let cp = first
            .checkpoint
            .clone()
            .expect("an intact chain gives a checkpoint");
        assert_eq!(cp.seq, 3);
        for n in 3..5 {
            store.audit(&entry(n))?;
        }
        let next = store.verify_audit_from(Some(&cp))?;
        assert!(next.verdict.ok, "{next:?}");
        assert_eq!(next.verdict.records, 5);
        assert_eq!(next.checkpoint.as_ref().map(|c| c.seq), Some(5));
        // An edit after the checkpoint is found; so is a checkpoint record that changed.
        store.conn().execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET outcome = 'refused' WHERE seq = 4",
        )?;
        let edited = store.verify_audit_from(Some(&cp))?;
        assert_eq!(edited.verdict.first_bad, Some(4), "{edited:?}");
        assert!(edited.checkpoint.is_none());
        store
            .conn()
            .execute_batch("UPDATE audit SET hash = 'x' WHERE seq = 3")?;
        let moved = store.verify_audit_from(Some(&cp))?;
        assert_eq!(moved.verdict.first_bad, Some(3), "{moved:?}");
        Ok(())
    }

    #[test]
    fn edits_deletions_and_truncation_are_detected() -> Result<()> {
        for tamper in [
            "UPDATE audit SET outcome = 'refused' WHERE seq = 3",
            "DELETE FROM audit WHERE seq = 2",
            "DELETE FROM audit WHERE seq = 5",
        ] {
            let (_d, store) = temp_store();
            for n in 0..5 {
                store.audit(&entry(n))?;
            }
            {
                let conn = store.conn();
                conn.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")?;
                conn.execute_batch(tamper)?;
            }
            let v = store.verify_audit()?;
            assert!(!v.ok, "{tamper}: {v:?}");
            let expected = match tamper.chars().last() {
                Some('3') => 3,
                _ if tamper.contains("seq = 2") => 2,
                _ => 5,
            };
            assert_eq!(v.first_bad, Some(expected), "{tamper}: {v:?}");
        }
        Ok(())
    }

    fn signing_store() -> (
        tempfile::TempDir,
        SqliteStore,
        std::sync::Arc<crate::trust::ServiceKey>,
    ) {
        let (dir, store) = temp_store();
        let key =
            std::sync::Arc::new(crate::trust::ServiceKey::load_or_create(dir.path()).unwrap());
        store.set_signer(std::sync::Arc::clone(&key)).unwrap();
        (dir, store, key)
    }

    #[test]
    fn signed_records_verify_with_the_key_and_not_with_another() -> Result<()> {
        let (_d, store, key) = signing_store();
        for n in 0..3 {
            store.audit(&entry(n))?;
        }
        let entries = store.audit_entries(&AuditFilter::default())?;
        assert!(
            entries
                .iter()
                .all(|e| e.authority.as_deref() == Some(AUTHORITY_SERVICE))
        );
        let v = store.verify_audit_with(None, Some(key.ring()))?.verdict;
        assert!(v.ok && v.signed == 3, "{v:?}");
        let other_dir = tempfile::tempdir().unwrap();
        let other = crate::trust::ServiceKey::load_or_create(other_dir.path()).unwrap();
        let v = store.verify_audit_with(None, Some(other.ring()))?.verdict;
        assert_eq!(v.first_bad, Some(1), "{v:?}");
        Ok(())
    }

    #[test]
    fn an_unsigned_record_after_a_signed_one_is_a_finding() -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let key =
            std::sync::Arc::new(crate::trust::ServiceKey::load_or_create(dir.path()).unwrap());
        {
            let store = SqliteStore::open(&path)?;
            store.set_signer(key)?;
            store.audit(&entry(1))?;
        }
        // The same store written by a process without the key: chained, hashed, unsigned.
        let embedded = SqliteStore::open(&path)?;
        embedded.audit(&entry(2))?;
        let v = embedded.verify_audit_with(None, None)?.verdict;
        assert_eq!(v.first_bad, Some(2), "{v:?}");
        assert!(v.problem.unwrap_or_default().contains("has no signature"));
        Ok(())
    }

    #[test]
    fn records_from_before_authorities_still_verify_and_new_ones_say_advisory() -> Result<()> {
        let (_d, store) = temp_store();
        // A record as an older version wrote it: no authority, hashed without one.
        let old = entry(0);
        let at = "2026-01-01T00:00:00.000000Z";
        let hash = record_hash(1, &old, at, GENESIS, None);
        store.conn().execute(
            "INSERT INTO audit (seq, at, actor, role, action, target, outcome, prev_hash, hash)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                at,
                old.actor,
                old.role,
                old.action,
                old.target,
                old.outcome,
                GENESIS,
                hash
            ],
        )?;
        store.conn().execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, 1, ?1)",
            [&hash],
        )?;
        store.audit(&entry(1))?;
        let v = store.verify_audit()?;
        assert!(v.ok, "{v:?}");
        let entries = store.audit_entries(&AuditFilter::default())?;
        assert_eq!(entries[0].authority, None);
        assert_eq!(entries[1].authority.as_deref(), Some(AUTHORITY_ADVISORY));
        // The authority is covered by the hash: calling an advisory record the service's
        // breaks the chain.
        store.conn().execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET authority = 'service' WHERE seq = 2",
        )?;
        assert_eq!(store.verify_audit()?.first_bad, Some(2));
        Ok(())
    }

    #[test]
    fn the_table_refuses_casual_edits() -> Result<()> {
        let (_d, store) = temp_store();
        store.audit(&entry(1))?;
        let conn = store.conn();
        let err = conn.execute("UPDATE audit SET actor = 'mallory'", []);
        assert!(err.is_err());
        Ok(())
    }
}
