//! `audit verify` beyond the hash chain: the records' signatures and the witness, put together
//! once for every caller (the CLI offline on a copy of a store, the embedded API, the service).
//!
//! What to check with comes from the config (`[service] key_dir`'s `service.pub`,
//! `[audit] witness`) or from the caller (`--key`, `--witness`); what the store holds is read
//! through [`AuditLookup`], so this module touches no SQL.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    KeyRing, KeyTally, PUBLIC_KEY_FILE, PublicKey, RetiredKey, StoredHead, Witness, WitnessEntry,
    first_contradiction,
};
use crate::config::Config;

/// The chain's own verdict and how to look a record's hash up, as the store gives them.
pub trait AuditLookup {
    /// The hash chain and the signatures (checked with the ring's keys when given).
    fn chain(&self, keys: Option<&KeyRing>) -> Result<ChainVerdict, String>;
    /// The chain hash of record `seq`, if the store has it.
    fn hash_of(&self, seq: i64) -> Result<Option<String>, String>;
}

/// What the hash chain and the signatures showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainVerdict {
    pub ok: bool,
    pub records: u64,
    pub first_bad: Option<i64>,
    pub problem: Option<String>,
    pub signed: u64,
    pub signed_by: Vec<KeyTally>,
}

/// What a caller brings to check the store against, instead of the config's: the contents
/// of `--key` and `--witness` (read by the client, so no path crosses the service's socket).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRequest {
    /// A public key in its text form.
    pub key: Option<String>,
    /// Retired keys to trust as well (`--trusted-key`), in their text form; with no bound.
    #[serde(default)]
    pub trusted_keys: Vec<String>,
    /// The witness: where it was read from (for the report) and its entries.
    pub witness: Option<GivenWitness>,
}

/// A witness the caller read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GivenWitness {
    pub name: String,
    pub entries: Vec<WitnessEntry>,
}

impl VerifyRequest {
    /// Read `--key` and `--witness`.
    pub fn from_files(
        key: Option<&Path>,
        trusted: &[std::path::PathBuf],
        witness: Option<&Path>,
    ) -> Result<VerifyRequest, CannotVerify> {
        let read = |flag: &str, path: &Path| {
            PublicKey::from_file(path)
                .map(|k| k.to_text())
                .map_err(|e| CannotVerify(format!("{flag} {e}")))
        };
        let key = key.map(|path| read("--key", path)).transpose()?;
        let trusted_keys = trusted
            .iter()
            .map(|path| read("--trusted-key", path))
            .collect::<Result<_, _>>()?;
        let witness = witness
            .map(|path| {
                if !path.exists() {
                    return Err(CannotVerify(format!(
                        "--witness {}: no such file",
                        path.display()
                    )));
                }
                Witness::at(path)
                    .entries()
                    .map(|entries| GivenWitness {
                        name: path.display().to_string(),
                        entries,
                    })
                    .map_err(|e| CannotVerify(format!("--witness {e}")))
            })
            .transpose()?;
        Ok(VerifyRequest {
            key,
            trusted_keys,
            witness,
        })
    }
}

/// What to verify against.
#[derive(Clone, Debug, Default)]
pub struct Anchors {
    /// The service's key and the retired keys trusted beside it.
    pub keys: Option<KeyRing>,
    /// Where the witness was read from (`None`: none configured or given).
    pub witness: Option<String>,
    pub entries: Vec<WitnessEntry>,
}

/// Why a verification could not be done as asked (bad input: exit 2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CannotVerify(pub String);

/// Why a verification did not come to a verdict.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// It cannot be done as asked (no key for signed records or a witness): exit 2.
    #[error("{0}")]
    Cannot(#[from] CannotVerify),
    /// The store could not be read: exit 1.
    #[error("{0}")]
    Failed(String),
}

impl Anchors {
    /// What the request brings, else the config's: `service.pub` in the key directory if
    /// there is one with `[service] trusted_keys`, and `[audit] witness`. Retired keys the
    /// request names (`--trusted-key`) are trusted beside either.
    pub fn gather(config: &Config, given: &VerifyRequest) -> Result<Anchors, CannotVerify> {
        let (key, mut retired) = match &given.key {
            Some(text) => (
                Some(
                    PublicKey::from_text(text)
                        .ok_or_else(|| CannotVerify("--key: not a retractor public key".into()))?,
                ),
                Vec::new(),
            ),
            None => {
                let path = config
                    .service
                    .key_dir_for(&config.store_path)
                    .join(PUBLIC_KEY_FILE);
                let key = match path.exists() {
                    true => {
                        Some(PublicKey::from_file(&path).map_err(|e| CannotVerify(e.to_string()))?)
                    }
                    false => None,
                };
                let retired = RetiredKey::load_all(&config.service.trusted_keys)
                    .map_err(|e| CannotVerify(format!("[service] trusted_keys: {e}")))?;
                (key, retired)
            }
        };
        for text in &given.trusted_keys {
            let key = PublicKey::from_text(text)
                .ok_or_else(|| CannotVerify("--trusted-key: not a retractor public key".into()))?;
            if !retired.iter().any(|r| r.key == key) {
                retired.push(RetiredKey {
                    key,
                    last_record: None,
                    last_job: None,
                });
            }
        }
        let keys = match key {
            Some(key) => Some(KeyRing::new(key, retired).map_err(CannotVerify)?),
            None if !retired.is_empty() => {
                return Err(CannotVerify(
                    "retired keys are trusted beside the service's own key, and there is none: give --key PUBFILE".into(),
                ));
            }
            None => None,
        };
        let (witness, entries) = match (&given.witness, &config.audit.witness) {
            (Some(w), _) => (Some(w.name.clone()), w.entries.clone()),
            (None, Some(path)) => (
                Some(path.display().to_string()),
                Witness::at(path)
                    .entries()
                    .map_err(|e| CannotVerify(format!("witness {e}")))?,
            ),
            (None, None) => (None, Vec::new()),
        };
        Ok(Anchors {
            keys,
            witness,
            entries,
        })
    }
}

/// The whole verdict of `audit verify` (its `--json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchoredVerdict {
    pub ok: bool,
    pub records: u64,
    pub first_bad: Option<i64>,
    pub problem: Option<String>,
    /// Records carrying a signature.
    pub signed: u64,
    /// The key signatures were checked with (its fingerprint).
    pub key: Option<String>,
    /// The retired keys trusted beside it (fingerprints).
    #[serde(default)]
    pub trusted_keys: Vec<String>,
    /// Per key that signed, its records and the last of them: where a key change fell.
    #[serde(default)]
    pub signed_by: Vec<KeyTally>,
    /// The witness read, and how many entries it holds.
    pub witness: Option<String>,
    pub witness_entries: usize,
    /// The first witness entry the store contradicts.
    pub contradiction: Option<String>,
}

/// Verify the chain, the signatures and the witness. Signed records or witness entries with
/// no public key to check them are [`CannotVerify`]: an unchecked signature proves nothing.
pub fn verify(store: &dyn AuditLookup, anchors: &Anchors) -> Result<AnchoredVerdict, VerifyError> {
    let chain = store
        .chain(anchors.keys.as_ref())
        .map_err(VerifyError::Failed)?;
    if anchors.keys.is_none() {
        let why = if !anchors.entries.is_empty() {
            Some("the witness cannot be checked without the service's public key")
        } else if chain.signed > 0 {
            Some("the records' signatures cannot be checked without the service's public key")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(CannotVerify(format!("{why}: give --key PUBFILE")).into());
        }
    }
    let contradiction = match &anchors.keys {
        Some(keys) if !anchors.entries.is_empty() => {
            let mut lookup = |seq: i64| {
                store.hash_of(seq).map(|h| match h {
                    Some(hash) => StoredHead::Present(hash),
                    None => StoredHead::Missing,
                })
            };
            first_contradiction(&anchors.entries, keys, &mut lookup).map_err(VerifyError::Failed)?
        }
        _ => None,
    };
    Ok(AnchoredVerdict {
        ok: chain.ok && contradiction.is_none(),
        records: chain.records,
        first_bad: chain.first_bad,
        problem: chain.problem,
        signed: chain.signed,
        key: anchors.keys.as_ref().map(|k| k.current().fingerprint()),
        trusted_keys: anchors
            .keys
            .as_ref()
            .map(|k| k.retired().iter().map(|r| r.key.fingerprint()).collect())
            .unwrap_or_default(),
        signed_by: chain.signed_by,
        witness: anchors.witness.clone(),
        witness_entries: anchors.entries.len(),
        contradiction,
    })
}
