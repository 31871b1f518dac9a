//! `audit` and `audit verify`.

use serde_json::json;

use super::super::args::{AuditArgs, AuditCommand};
use super::super::output::{Column, Table, print_json};
use super::super::{CliError, Context, exit};
use crate::api::AuditQuery;
use crate::model::text::sanitize;
use crate::trust::verify::{AnchoredVerdict, VerifyRequest};

pub async fn run(ctx: &Context, a: AuditArgs) -> Result<u8, CliError> {
    if let Some(AuditCommand::Verify(v)) = a.verify {
        // Read here, by the caller: no path crosses the service's socket.
        let given =
            VerifyRequest::from_files(v.key.as_deref(), &v.trusted_keys, v.witness.as_deref())
                .map_err(|e| CliError::bad_input(e.to_string()))?;
        let verdict = ctx.verify_api()?.verify_audit(&given).await?;
        return Ok(print_verdict(ctx, &verdict));
    }
    let api = ctx.read_only_api()?;
    let since = a
        .since
        .as_deref()
        .map(|s| super::when("--since", s))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|s| super::when("--until", s))
        .transpose()?;
    let entries = api
        .audit(&AuditQuery {
            since,
            until,
            actor: a.actor,
            action: a.action,
            target: a.target,
            job: a.job,
            limit: Some(a.limit),
        })
        .await?;
    if ctx.json {
        print_json(&json!({"audit": entries}));
        return Ok(exit::OK);
    }
    let mut t = Table::new(vec![
        Column::whole("SEQ"),
        Column::whole("TIME"),
        Column::text("ACTOR"),
        Column::text("ACTION"),
        Column::middle("TARGET"),
        Column::text("OUTCOME"),
        Column::whole("JOB").droppable(2),
        Column::text("REASON"),
        Column::text("DETAIL").droppable(1),
    ]);
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

/// Print a verification; the exit code: 0 intact, 1 any finding.
fn print_verdict(ctx: &Context, v: &AnchoredVerdict) -> u8 {
    if ctx.json {
        print_json(&json!(v));
    } else {
        // The chain and the signatures are one finding, the witness another: say both.
        let chain_ok = v.first_bad.is_none() && v.problem.is_none();
        if chain_ok {
            let signatures = match &v.key {
                // One line per key that signed, when any but the service's own did.
                Some(key) if v.signed > 0 && v.signed_by.iter().any(|t| &t.key != key) => {
                    let by: Vec<String> = v
                        .signed_by
                        .iter()
                        .map(|t| {
                            let which = if &t.key == key { "key" } else { "retired key" };
                            format!(
                                "{} by {which} {} (last record {})",
                                t.records, t.key, t.last_record
                            )
                        })
                        .collect();
                    format!(", {} signatures verified: {}", v.signed, by.join(", "))
                }
                Some(key) if v.signed > 0 => {
                    format!(", {} signatures verified with key {key}", v.signed)
                }
                _ => ", no signed records (roles were advisory)".into(),
            };
            println!(
                "audit trail intact: {} records, hash chain verified{signatures}",
                v.records
            );
        } else {
            println!(
                "audit trail BROKEN at record {}: {}",
                v.first_bad.unwrap_or(0),
                sanitize(v.problem.as_deref().unwrap_or(""))
            );
        }
        match (&v.witness, &v.contradiction) {
            (_, Some(found)) => println!("witness CONTRADICTED: {}", sanitize(found)),
            (Some(name), None) => println!(
                "witness {}: {} entries, the store agrees with every one",
                sanitize(name),
                v.witness_entries
            ),
            (None, None) => println!("no witness configured ([audit] witness or --witness)"),
        }
    }
    if v.ok { exit::OK } else { exit::ERROR }
}
