//! `audit` and `audit verify`.

use serde_json::json;

use super::super::args::{AuditArgs, AuditCommand};
use super::super::output::{Table, print_json};
use super::super::{CliError, Context, exit};
use crate::api::AuditQuery;

pub async fn run(ctx: &Context, a: AuditArgs) -> Result<u8, CliError> {
    let api = ctx.read_only_api()?;
    if let Some(AuditCommand::Verify) = a.verify {
        let v = api.verify_audit().await?;
        if ctx.json {
            print_json(
                &json!({"ok": v.ok, "records": v.records, "first_bad": v.first_bad, "problem": v.problem}),
            );
        } else if v.ok {
            println!(
                "audit trail intact: {} records, hash chain verified",
                v.records
            );
        } else {
            println!(
                "audit trail BROKEN at record {}: {}",
                v.first_bad.unwrap_or(0),
                v.problem.as_deref().unwrap_or("")
            );
        }
        return Ok(if v.ok { exit::OK } else { exit::ERROR });
    }
    let since = a
        .since
        .as_deref()
        .map(|s| super::when("--since", s))
        .transpose()?;
    let entries = api
        .audit(&AuditQuery {
            since,
            until: None,
            actor: a.actor,
            job: a.job,
            limit: Some(a.limit),
        })
        .await?;
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
