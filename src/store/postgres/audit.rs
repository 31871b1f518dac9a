//! The audit trail on PostgreSQL: the same hash chain, records and signatures as on SQLite,
//! appended by several writers at once.
//!
//! An append reads the chain's tail and writes the record after it; with several writers
//! those two must not interleave. A transaction-scoped advisory lock named for the chain is
//! taken before the tail is read and held until commit, so appends take their places one at a
//! time, in commit order; the head's compare-and-set and `audit.seq`'s key remain as a second
//! guard. A job's row is locked before the chain's lock (see [`append`]) so that every
//! transaction takes the two in the same order and none waits on another in a circle.

use chrono::SecondsFormat;
use postgres::Row;

use super::PgStore;
use super::decode::get;
use super::statements::Tx;
use crate::store::audit::{AUDIT_COLUMNS, ChainWalk, GENESIS, record_hash, record_signed_message};
use crate::store::clock::Now;
use crate::store::{
    AUTHORITY_ADVISORY, AUTHORITY_SERVICE, AuditCheckpoint, AuditEntry, AuditFilter, AuditProgress,
    AuditTrail, AuditVerdict, NewAudit, Result, StoreError,
};
use crate::trust::{KeyRing, Purpose};

/// The advisory lock serialising appends to the chain ("rtx_audt").
const AUDIT_CHAIN_LOCK: i64 = 0x7274_785f_6175_6474;

/// Append one record inside the caller's transaction.
pub(super) fn append(tx: &mut Tx<'_>, now: Now, e: &NewAudit) -> Result<i64> {
    if let Some(job) = e.job {
        tx.execute("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", &[&job])?;
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_CHAIN_LOCK])?;
    let head = tx.query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", &[])?;
    let (prev_seq, prev_hash): (i64, String) = match head {
        Some(row) => (get(&row, 0)?, get(&row, 1)?),
        None => (0, GENESIS.to_string()),
    };
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
    tx.execute(
        "INSERT INTO audit (seq, at, actor, ssh_from, role, action, target, reason, outcome, job,
                            detail, prev_hash, hash, authority, sig)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &[
            &seq,
            &at,
            &e.actor,
            &e.ssh_from,
            &e.role,
            &e.action,
            &e.target,
            &e.reason,
            &e.outcome,
            &e.job,
            &e.detail,
            &prev_hash,
            &hash,
            &authority,
            &sig,
        ],
    )?;
    let moved = tx.execute(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
         WHERE audit_head.seq = $3 AND audit_head.hash = $4",
        &[&seq, &hash, &prev_seq, &prev_hash],
    )?;
    if moved != 1 {
        return Err(StoreError::Database(format!(
            "audit: the trail's head moved while record {seq} was appended; nothing was written"
        )));
    }
    Ok(seq)
}

fn entry_from_row(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: get(r, 0)?,
        at: get(r, 1)?,
        actor: get(r, 2)?,
        ssh_from: get(r, 3)?,
        role: get(r, 4)?,
        action: get(r, 5)?,
        target: get(r, 6)?,
        reason: get(r, 7)?,
        outcome: get(r, 8)?,
        job: get(r, 9)?,
        detail: get(r, 10)?,
        prev_hash: get(r, 11)?,
        hash: get(r, 12)?,
        authority: get(r, 13)?,
        sig: get(r, 14)?,
    })
}

impl PgStore {
    /// [`AuditTrail::verify_audit_from`], checking every signature with `key` (as
    /// [`crate::store::Store::verify_audit_with`]).
    pub fn verify_audit_with(
        &self,
        from: Option<&AuditCheckpoint>,
        key: Option<&KeyRing>,
    ) -> Result<AuditProgress> {
        self.read(|tx, _| {
            let mut walk = match from {
                Some(cp) => {
                    let stored = tx
                        .query_opt("SELECT hash, sig FROM audit WHERE seq = $1", &[&cp.seq])?
                        .map(|r| Ok::<_, StoreError>((get(&r, 0)?, get(&r, 1)?)))
                        .transpose()?;
                    match ChainWalk::from_checkpoint(cp, stored, key) {
                        Ok(walk) => walk,
                        Err(verdict) => return Ok(*verdict),
                    }
                }
                None => ChainWalk::from_start(key),
            };
            // In pages, so a long trail is never held in memory at once.
            const PAGE: i64 = 10_000;
            loop {
                let rows = tx.query(
                    &format!(
                        "SELECT {AUDIT_COLUMNS} FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2"
                    ),
                    &[&walk.next_seq(), &PAGE],
                )?;
                let full = rows.len() as i64 == PAGE;
                for row in &rows {
                    if let Some(verdict) = walk.step(entry_from_row(row)?) {
                        return Ok(verdict);
                    }
                }
                if !full {
                    break;
                }
            }
            let head = tx
                .query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", &[])?
                .map(|r| Ok::<_, StoreError>((get(&r, 0)?, get(&r, 1)?)))
                .transpose()?;
            Ok(walk.finish(head))
        })
    }

    /// The newest record's sequence number and hash.
    pub fn audit_head(&self) -> Result<Option<(i64, String)>> {
        self.read(|tx, _| {
            tx.query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?
                .map(|r| Ok((get(&r, 0)?, get(&r, 1)?)))
                .transpose()
        })
    }

    /// The stored hash of record `seq`.
    pub fn audit_hash(&self, seq: i64) -> Result<Option<String>> {
        self.read(|tx, _| {
            tx.query_opt("SELECT hash FROM audit WHERE seq = $1", &[&seq])?
                .map(|r| get(&r, 0))
                .transpose()
        })
    }
}

impl AuditTrail for PgStore {
    fn verify_audit_with(
        &self,
        from: Option<&AuditCheckpoint>,
        key: Option<&KeyRing>,
    ) -> Result<AuditProgress> {
        PgStore::verify_audit_with(self, from, key)
    }

    fn audit_head(&self) -> Result<Option<(i64, String)>> {
        PgStore::audit_head(self)
    }

    fn audit_hash(&self, seq: i64) -> Result<Option<String>> {
        PgStore::audit_hash(self, seq)
    }

    fn audit(&self, e: &NewAudit) -> Result<i64> {
        self.write(|tx, now| append(tx, now, e))
    }

    fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let since = filter
            .since
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true));
        let until = filter
            .until
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true));
        let limit = filter.limit.map(|l| l.min(i64::MAX as usize) as i64);
        self.read(|tx, _| {
            // `at` compares as text, as on SQLite: RFC 3339 in UTC with fixed digits sorts
            // as time does (bytewise, hence COLLATE "C"). The action is a prefix and the
            // target a substring, both case-sensitive, as on SQLite.
            tx.query(
                &format!(
                    "SELECT * FROM (SELECT {AUDIT_COLUMNS} FROM audit
                      WHERE ($1::text IS NULL OR at COLLATE \"C\" >= $1) AND ($2::text IS NULL OR actor = $2)
                        AND ($3::bigint IS NULL OR job = $3)
                        AND ($5::text IS NULL OR at COLLATE \"C\" <= $5)
                        AND ($6::text IS NULL OR substr(action, 1, length($6)) = $6)
                        AND ($7::text IS NULL OR strpos(target, $7) > 0)
                      ORDER BY seq DESC LIMIT $4) newest ORDER BY seq"
                ),
                &[
                    &since,
                    &filter.actor,
                    &filter.job,
                    &limit,
                    &until,
                    &filter.action,
                    &filter.target,
                ],
            )?
            .iter()
            .map(entry_from_row)
            .collect()
        })
    }

    fn verify_audit(&self) -> Result<AuditVerdict> {
        Ok(self.verify_audit_from(None)?.verdict)
    }

    fn verify_audit_from(&self, from: Option<&AuditCheckpoint>) -> Result<AuditProgress> {
        self.verify_audit_with(from, self.signer().map(|k| k.ring()))
    }
}
