//! `audit` and `audit verify`.

use serde_json::json;

use std::path::PathBuf;

use super::super::args::{AuditArgs, AuditCommand, VerifyArgs};
use super::super::output::{Table, print_json};
use super::super::{CliError, Context, exit};
use crate::config::Config;
use crate::model::text::sanitize;
use crate::store::{AuditFilter, Store};
use crate::trust::{PUBLIC_KEY_FILE, PublicKey, StoredHead, Witness, first_contradiction};

pub fn run(ctx: &Context, a: AuditArgs) -> Result<u8, CliError> {
    let config = ctx.config()?;
    if let Some(AuditCommand::Verify(v)) = a.verify {
        // A store that is not there yet is an empty trail, as for the other readers (and a
        // witness that remembers records says so).
        let store = if config.store_path.exists() {
            Store::open_for_verify(&config.store_path)?
        } else {
            Store::open_read_only(&config.store_path)?
        };
        return verify(ctx, &config, &store, v);
    }
    let store = Store::open_read_only(&config.store_path)?;
    let since = a
        .since
        .as_deref()
        .map(|s| super::when("--since", s))
        .transpose()?;
    let entries = store.audit_entries(&AuditFilter {
        since,
        actor: a.actor,
        job: a.job,
        limit: Some(a.limit),
    })?;
    if ctx.json {
        print_json(&json!({"audit": entries}));
        return Ok(exit::OK);
    }
    let mut t = Table::new(
        vec![
            "SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "JOB", "REASON", "DETAIL",
        ],
        vec![0, 19, 20, 22, 48, 22, 5, 30, 60],
    );
    for e in &entries {
        let actor = match &e.ssh_from {
            Some(from) => format!("{} ({from})", e.actor),
            None => e.actor.clone(),
        };
        t.row(vec![
            e.seq.to_string(),
            e.at.get(..19).unwrap_or(&e.at).replace('T', " "),
            actor,
            e.action.clone(),
            e.target.clone(),
            e.outcome.clone(),
            e.job.map(|j| j.to_string()).unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            e.detail.clone().unwrap_or_default(),
        ]);
    }
    t.print();
    Ok(exit::OK)
}

/// `audit verify`: the chain, the signatures, the witness. Works on a read-only copy of a
/// store: nothing is written, and the secret key is never needed.
fn verify(ctx: &Context, config: &Config, store: &Store, a: VerifyArgs) -> Result<u8, CliError> {
    let key = public_key(config, a.key)?;
    let verdict = store.verify_audit_with(None, key.as_ref())?.verdict;
    let witness_path = match (a.witness, &config.audit.witness) {
        (Some(path), _) if !path.exists() => {
            return Err(CliError::bad_input(format!(
                "--witness {}: no such file",
                path.display()
            )));
        }
        (Some(path), _) => Some(path),
        (None, configured) => configured.clone(),
    };
    let entries = match &witness_path {
        Some(path) => Witness::at(path)
            .entries()
            .map_err(|e| CliError::new(exit::ERROR, format!("witness {e}")))?,
        None => Vec::new(),
    };
    let unchecked = if key.is_some() {
        None
    } else if !entries.is_empty() {
        Some("the witness cannot be checked without the service's public key")
    } else if verdict.signed > 0 {
        Some("the records' signatures cannot be checked without the service's public key")
    } else {
        None
    };
    if let Some(why) = unchecked {
        return Err(CliError::bad_input(format!(
            "{why}: give --key PUBFILE (no {PUBLIC_KEY_FILE} in {})",
            config.service.key_dir_for(&config.store_path).display()
        )));
    }
    let contradiction = match &key {
        Some(key) if !entries.is_empty() => {
            let mut lookup = |seq: i64| match store.audit_hash(seq) {
                Ok(Some(hash)) => Ok(StoredHead::Present(hash)),
                Ok(None) => Ok(StoredHead::Missing),
                Err(e) => Err(e.to_string()),
            };
            first_contradiction(&entries, key, &mut lookup)
                .map_err(|e| CliError::new(exit::ERROR, e))?
        }
        _ => None,
    };
    let ok = verdict.ok && contradiction.is_none();
    if ctx.json {
        print_json(&json!({
            "ok": ok,
            "records": verdict.records,
            "first_bad": verdict.first_bad,
            "problem": verdict.problem,
            "signed": verdict.signed,
            "witness_entries": entries.len(),
            "contradiction": contradiction,
        }));
    } else {
        if verdict.ok {
            let signatures = match &key {
                Some(key) if verdict.signed > 0 => format!(
                    ", {} signatures verified with key {}",
                    verdict.signed,
                    key.fingerprint()
                ),
                _ => ", no signed records (roles were advisory)".into(),
            };
            println!(
                "audit trail intact: {} records, hash chain verified{signatures}",
                verdict.records
            );
        } else {
            println!(
                "audit trail BROKEN at record {}: {}",
                verdict.first_bad.unwrap_or(0),
                sanitize(verdict.problem.as_deref().unwrap_or(""))
            );
        }
        match (&witness_path, &contradiction) {
            (_, Some(found)) => println!("witness CONTRADICTED: {}", sanitize(found)),
            (Some(path), None) => println!(
                "witness {}: {} entries, the store agrees with every one",
                sanitize(&path.display().to_string()),
                entries.len()
            ),
            (None, None) => println!("no witness configured ([audit] witness or --witness)"),
        }
    }
    Ok(if ok { exit::OK } else { exit::ERROR })
}

/// The public key to check signatures with: `--key`, else `service.pub` in the key
/// directory if there is one.
fn public_key(config: &Config, given: Option<PathBuf>) -> Result<Option<PublicKey>, CliError> {
    let (path, required) = match given {
        Some(path) => (path, true),
        None => (
            config
                .service
                .key_dir_for(&config.store_path)
                .join(PUBLIC_KEY_FILE),
            false,
        ),
    };
    if !required && !path.exists() {
        return Ok(None);
    }
    PublicKey::from_file(&path)
        .map(Some)
        .map_err(|e| CliError::bad_input(format!("--key {e}")))
}
