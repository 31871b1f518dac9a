//! `retract`, `restore`, `sweep`: plan, confirm, submit, and with `--wait` run.

use std::sync::Arc;

use serde_json::json;

use super::super::args::{Confirm, RestoreArgs, RetractArgs, SweepArgs};
use super::super::output::{
    Table, job_json, job_with_items_json, plan_json, print_job_table, print_json,
};
use super::super::{CliError, Context, exit};
use crate::engine::{
    Confirmation, EmptyOutcome, EmptyPlan, Engine, Plan, RestoreRequest, RetractRequest,
    RunOptions, SweepRequest,
};
use crate::model::JobStatus;
use crate::model::text::sanitize;

pub async fn retract(ctx: &Context, a: RetractArgs) -> Result<u8, CliError> {
    let action = super::action(&a.action)?;
    let engine = ctx.engine()?;
    let request = RetractRequest {
        message: a.reference,
        recipients: a.recipients,
        exclude: a.exclude,
        depth: a.depth,
        action,
        reason: a.reason,
        max_items: a.max_items,
    };
    let plan = engine.plan_retract(&request).await?;
    if a.dry_run {
        return print_plan(ctx, &plan);
    }
    let confirmation = engine.retract_confirmation(&request, &plan)?;
    run_plan(ctx, &engine, &plan, &a.confirm, &confirmation).await
}

pub async fn restore(ctx: &Context, a: RestoreArgs) -> Result<u8, CliError> {
    let engine = ctx.engine()?;
    let request = RestoreRequest {
        message: a.reference,
        job: a.job,
        recipients: a.recipients,
        only_items: Vec::new(),
        reason: a.reason,
    };
    let plan = engine.plan_restore(&request)?;
    let confirmation = request.confirmation(&plan);
    run_plan(ctx, &engine, &plan, &a.confirm, &confirmation).await
}

pub async fn sweep(ctx: &Context, a: SweepArgs) -> Result<u8, CliError> {
    let action = super::action(&a.action)?;
    let engine = ctx.engine()?;
    if engine.config().tenant(&a.tenant).is_none() {
        return Err(CliError::bad_input(format!(
            "--tenant {}: unknown tenant",
            sanitize(&a.tenant)
        )));
    }
    let since = a
        .since
        .as_deref()
        .map(|s| super::when("--since", s))
        .transpose()?;
    let request = SweepRequest {
        tenant: a.tenant,
        message_ids: a.message_ids,
        from: a.from,
        subject: a.subject,
        since,
        all: a.all,
        max_items: a.max_items,
        action: Some(action),
        reason: a.reason,
    };
    let plan = engine.plan_sweep(&request).await?;
    if a.dry_run {
        return print_plan(ctx, &plan);
    }
    let confirmation = request.confirmation(&plan);
    run_plan(ctx, &engine, &plan, &a.confirm, &confirmation).await
}

/// Print a plan; exit 3 when part of it failed already (a mailbox a sweep could not search).
fn print_plan(ctx: &Context, plan: &Plan) -> Result<u8, CliError> {
    let code = if plan.failed() > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    };
    if ctx.json {
        print_json(&plan_json(plan));
        return Ok(code);
    }
    println!(
        "Plan: {} {} (nothing has been changed)",
        plan.action,
        sanitize(&plan.target)
    );
    let mut t = Table::new(
        vec!["DEPTH", "MAILBOX", "FOLDER", "MESSAGE-ID", "NOTE"],
        vec![5, 36, 24, 48, 40],
    );
    for i in &plan.items {
        t.row(vec![
            i.depth.to_string(),
            i.mailbox.clone(),
            i.planned_folder.clone().unwrap_or_default(),
            i.message_id.clone(),
            i.settled
                .as_ref()
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
        ]);
    }
    t.print();
    println!();
    for d in &plan.by_depth {
        println!(
            "depth {}: {} messages, {} mailboxes",
            d.depth, d.messages, d.mailboxes
        );
    }
    for n in &plan.notes {
        println!("note: {}", sanitize(n));
    }
    Ok(code)
}

/// Confirm, write the job, and either run it here (`--wait`) or leave it for an engine. A
/// plan the engine's empty-plan rule refuses is refused before anything is asked.
async fn run_plan(
    ctx: &Context,
    engine: &Arc<Engine>,
    plan: &Plan,
    confirm: &Confirm,
    confirmation: &Confirmation,
) -> Result<u8, CliError> {
    if let Some(EmptyPlan {
        message,
        outcome: EmptyOutcome::Refused,
    }) = plan.empty_plan()
    {
        return Err(CliError::bad_input(message));
    }
    if !confirm.yes {
        super::confirm(confirmation)?;
    }
    let job = engine.submit(plan)?;
    if !ctx.json && !ctx.quiet {
        for n in &plan.notes {
            eprintln!("note: {}", sanitize(n));
        }
    }
    if !confirm.wait {
        let j = engine.store().job(job)?;
        if ctx.json {
            let mut shown = job_json(&j);
            shown["notes"] = json!(plan.notes);
            print_json(&json!({ "job": shown }));
        } else {
            println!("job {job} queued: {} items", j.counts.matched);
        }
        if engine.store().live_workers(10_000)? == 0 && !ctx.quiet {
            eprintln!(
                "hint: no engine is running; start `retractor worker` (or open the console) to run it, or use --wait"
            );
        }
        return Ok(exit::OK);
    }
    engine
        .run(RunOptions {
            job: Some(job),
            follow: false,
        })
        .await?;
    let j = engine.store().job(job)?;
    let items = engine.store().job_items(job)?;
    if ctx.json {
        let mut shown = job_with_items_json(&j, &items);
        shown["job"]["notes"] = json!(plan.notes);
        print_json(&shown);
    } else if !ctx.quiet {
        print_job_table(&j, &items);
    }
    Ok(match j.status {
        JobStatus::Done => exit::OK,
        JobStatus::Partial | JobStatus::Failed => exit::PARTIAL,
        _ => exit::OK,
    })
}
