//! `alert`, `pending`, `approve`, `reject`, `policy test`, `policy report`.

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use super::super::args::{AlertArgs, PolicyCommand};
use super::super::output::{Column, Table, print_json, short_time};
use super::super::{CliError, Context, exit};
use crate::api::alerts::ApprovalRecord;
use crate::api::alerts::RejectedLine;
use crate::api::{AlertSubmission, ApprovalAnswer};
use crate::model::text::sanitize;

/// The file's text as the caller can read it (a service could not open the caller's file).
pub(super) fn read_lines(file: &Path) -> Result<AlertSubmission, CliError> {
    let name = file.display().to_string();
    let mut body = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut body)
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut body))
    };
    read.map_err(|e| CliError::bad_input(format!("{name}: {e}")))?;
    let body = String::from_utf8(body).map_err(|e| {
        CliError::bad_input(format!(
            "{name}: not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(AlertSubmission { name, body })
}

fn rejected_json(r: &[RejectedLine]) -> Vec<Value> {
    r.iter()
        .map(|x| json!({"line": x.line, "field": x.field, "reason": x.problem}))
        .collect()
}

fn print_rejected(ctx: &Context, source: &str, r: &[RejectedLine]) {
    if ctx.quiet {
        return;
    }
    for x in r {
        eprintln!(
            "{}: line {}: {}: {}",
            sanitize(source),
            x.line,
            x.field,
            sanitize(&x.problem)
        );
    }
}

/// Exit 0 when every line was good, 3 when some were, 2 when none was.
fn lines_exit(good: usize, bad: usize) -> u8 {
    match (good, bad) {
        (_, 0) => exit::OK,
        (0, _) => exit::BAD_INPUT,
        _ => exit::PARTIAL,
    }
}

pub async fn alert(ctx: &Context, a: AlertArgs) -> Result<u8, CliError> {
    let api = ctx.api()?;
    let submission = read_lines(&a.file)?;
    let report = api.submit_alerts(&submission).await?;
    if ctx.json {
        print_json(&json!({"alerts": {
            "new": report.new_count(),
            "repeat": report.repeat_count(),
            "updated": report.updated_count(),
            "stored": report.stored,
            "rejected": rejected_json(&report.rejected),
        }}));
    } else {
        print_rejected(ctx, &submission.name, &report.rejected);
        if !ctx.quiet {
            println!(
                "alerts: {} new, {} repeated, {} updated, {} bad lines skipped",
                report.new_count(),
                report.repeat_count(),
                report.updated_count(),
                report.rejected.len()
            );
        }
    }
    Ok(lines_exit(report.stored.len(), report.rejected.len()))
}

pub(super) fn approval_json(a: &ApprovalRecord) -> Value {
    json!({
        "id": a.id,
        "kind": a.kind,
        "action": a.action,
        "target": a.target,
        "reason": a.reason,
        "status": a.state,
        "requested_by": a.requested_by,
        "rule": a.rule,
        "alert": a.alert,
        "created_at": a.created_at.to_rfc3339(),
        "expires_at": a.expires_at.to_rfc3339(),
        "by_depth": a.by_depth,
        "mailboxes": a.mailboxes,
        "plan_hash": a.plan_hash,
        "decided_by": a.decided_by,
        "job": a.job,
    })
}

pub async fn pending(ctx: &Context) -> Result<u8, CliError> {
    let api = ctx.api()?;
    let waiting = api.pending().await?;
    if ctx.json {
        print_json(&json!({"pending": waiting.iter().map(approval_json).collect::<Vec<_>>()}));
        return Ok(exit::OK);
    }
    if waiting.is_empty() {
        if !ctx.quiet {
            println!("no requests waiting for approval");
        }
        return Ok(exit::OK);
    }
    let mut table = Table::new(vec![
        Column::whole("REQ"),
        Column::whole("ACTION"),
        Column::middle("TARGET"),
        Column::whole("MAILBOXES"),
        Column::address("REQUESTED BY"),
        Column::text("RULE").droppable(2),
        Column::text("REASON"),
        Column::whole("EXPIRES").droppable(1),
    ]);
    for a in &waiting {
        table.row(vec![
            a.id.to_string(),
            format!("{} {}", a.kind, a.action),
            sanitize(&a.target),
            a.mailboxes.to_string(),
            sanitize(&a.requested_by),
            a.rule.as_deref().map(sanitize).unwrap_or_default(),
            a.reason.as_deref().map(sanitize).unwrap_or_default(),
            short_time(a.expires_at),
        ]);
    }
    table.print();
    Ok(exit::OK)
}

pub async fn answer(
    ctx: &Context,
    id: i64,
    approve: bool,
    reason: Option<String>,
) -> Result<u8, CliError> {
    if reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(CliError::bad_input("--reason is empty: say why"));
    }
    let api = ctx.api()?;
    let settled = api
        .answer_approval(&ApprovalAnswer {
            id,
            approve,
            reason,
        })
        .await?;
    if ctx.json {
        print_json(&json!({"approval": approval_json(&settled)}));
    } else if !ctx.quiet {
        match settled.job {
            Some(job) => println!("request {id} approved: job {job} queued"),
            None => println!("request {id} {}", settled.state),
        }
    }
    Ok(exit::OK)
}

pub async fn policy(ctx: &Context, c: PolicyCommand) -> Result<u8, CliError> {
    let api = ctx.api()?;
    match c {
        PolicyCommand::Test { file } => {
            let submission = read_lines(&file)?;
            let report = api.policy_test(&submission).await?;
            if ctx.json {
                print_json(&json!({"policy_test": {
                    "alerts": report.alerts,
                    "rejected": rejected_json(&report.rejected),
                }}));
            } else {
                print_rejected(ctx, &submission.name, &report.rejected);
                for r in &report.alerts {
                    println!(
                        "{}:{} {}: {}{} ({})",
                        sanitize(&r.source),
                        sanitize(&r.id),
                        r.rule
                            .as_deref()
                            .map(sanitize)
                            .unwrap_or_else(|| "-".into()),
                        r.outcome,
                        r.rail
                            .as_deref()
                            .map(|x| format!(", rail {x}"))
                            .unwrap_or_default(),
                        sanitize(&r.detail)
                    );
                }
            }
            Ok(lines_exit(report.alerts.len(), report.rejected.len()))
        }
        PolicyCommand::Report { since } => {
            let since = crate::model::when::parse_when(&since, chrono::Utc::now())
                .map_err(|e| CliError::bad_input(format!("--since: {e}")))?;
            let r = api.policy_report(since).await?;
            if ctx.json {
                print_json(&json!({"policy_report": r}));
            } else if !ctx.quiet {
                let ms = |v: Option<i64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
                println!("since {}", r.since.to_rfc3339());
                println!(
                    "decisions {}: {} pulls, {} requests, {} approvals, {} rejections, {} expired, {} voided, {} restores after false positives, {} passive, {} no action, {} failed",
                    r.decisions,
                    r.pulls,
                    r.requests,
                    r.approvals,
                    r.rejections,
                    r.expired,
                    r.voided,
                    r.restores_after_false_positives,
                    r.passive,
                    r.no_action,
                    r.failed
                );
                println!(
                    "alert to first copy pulled: median {}, p95 {} ({} pulls)",
                    ms(r.alert_to_first_pull.median_ms),
                    ms(r.alert_to_first_pull.p95_ms),
                    r.alert_to_first_pull.samples
                );
            }
            Ok(exit::OK)
        }
    }
}
