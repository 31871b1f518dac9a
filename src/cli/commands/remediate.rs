//! `retract`, `restore`, `sweep`: plan, confirm, submit, and with `--wait` run.

use futures_util::StreamExt;
use serde_json::json;

use super::super::args::{Confirm, RestoreArgs, RetractArgs, SweepArgs};
use super::super::output::{
    Column, Table, job_json, job_with_items_json, plan_json, print_job_table, print_json,
};
use super::super::{CliError, Context, exit};
use crate::api::alerts::ApprovalRecord;
use crate::api::{
    Api, EmptyOutcome, EmptyPlan, PlanRequest, PlanView, RestoreRequest, RetractRequest,
    Submission, Submitted, SweepRequest,
};
use crate::model::JobStatus;
use crate::model::text::sanitize;

pub async fn retract(ctx: &Context, a: RetractArgs) -> Result<u8, CliError> {
    let action = super::action(&a.action)?;
    let api = ctx.api()?;
    let request = RetractRequest {
        message: a.reference,
        recipients: a.recipients,
        exclude: a.exclude,
        depth: a.depth,
        action,
        reason: a.reason,
        max_items: a.max_items,
    };
    let plan = api.plan(&PlanRequest::Retract(request)).await?;
    if a.dry_run {
        return print_plan(ctx, &plan);
    }
    run_plan(ctx, api.as_ref(), &plan, &a.confirm).await
}

pub async fn restore(ctx: &Context, a: RestoreArgs) -> Result<u8, CliError> {
    let api = ctx.api()?;
    let request = RestoreRequest {
        message: a.reference,
        job: a.job,
        recipients: a.recipients,
        only_items: Vec::new(),
        reason: a.reason,
    };
    let plan = api.plan(&PlanRequest::Restore(request)).await?;
    run_plan(ctx, api.as_ref(), &plan, &a.confirm).await
}

pub async fn sweep(ctx: &Context, a: SweepArgs) -> Result<u8, CliError> {
    let action = super::action(&a.action)?;
    let api = ctx.api()?;
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
        indicators: crate::forensics::Indicators {
            urls: a.urls,
            url_domains: a.url_domains,
            sender_domains: a.sender_domains,
            attachment_sha256: a.attachment_sha256,
            attachment_names: a.attachment_names,
        },
    };
    let plan = api.plan(&PlanRequest::Sweep(request)).await?;
    if a.dry_run {
        return print_plan(ctx, &plan);
    }
    run_plan(ctx, api.as_ref(), &plan, &a.confirm).await
}

/// Print a plan; exit 3 when part of it failed already (a mailbox a sweep could not search).
fn print_plan(ctx: &Context, plan: &PlanView) -> Result<u8, CliError> {
    let code = if plan.failed > 0 {
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
    let mut t = Table::new(vec![
        Column::whole("DEPTH"),
        Column::address("MAILBOX"),
        Column::text("FOLDER"),
        Column::middle("MESSAGE-ID").droppable(1),
        Column::text("NOTE"),
    ]);
    for i in &plan.items {
        t.row(vec![
            i.depth.to_string(),
            i.mailbox.clone(),
            i.planned_folder.clone().unwrap_or_default(),
            i.message_id.clone(),
            match (&i.note, i.already_there) {
                (Some(note), _) => note.clone(),
                (None, true) => "already there (the job looks again)".to_string(),
                (None, false) => String::new(),
            },
        ]);
    }
    t.print();
    println!();
    for d in &plan.by_depth {
        println!("{}", d.line());
    }
    for n in &plan.notes {
        println!("note: {}", sanitize(n));
    }
    Ok(code)
}

/// A plan `[approvals]` holds: it was stored as a request (exit 0, like a queued job: the
/// submission succeeded, and the job will exist once someone else approves it).
fn held(ctx: &Context, approval: &ApprovalRecord, submitted: &Submitted) -> u8 {
    let why = submitted.held_because.as_deref().unwrap_or("[approvals]");
    if ctx.json {
        let mut shown = super::alerts::approval_json(approval);
        shown["notes"] = json!(submitted.notes);
        print_json(&json!({
            "awaiting_approval": true,
            "held_because": why,
            "approval": shown,
        }));
    } else if !ctx.quiet {
        println!(
            "awaiting approval: request {} ({}); no job yet",
            approval.id,
            sanitize(why)
        );
        eprintln!(
            "hint: another person with the approver role runs `retractor approve {}`; the job is written then",
            approval.id
        );
    }
    exit::OK
}

/// Confirm, submit, and either leave the job to an engine or watch it run (`--wait`). A
/// plan the engine's empty-plan rule refuses is refused before anything is asked.
async fn run_plan(
    ctx: &Context,
    api: &dyn Api,
    plan: &PlanView,
    confirm: &Confirm,
) -> Result<u8, CliError> {
    if let Some(EmptyPlan {
        message,
        outcome: EmptyOutcome::Refused,
    }) = &plan.empty
    {
        return Err(CliError::bad_input(message.clone()));
    }
    // `--yes` answers with what the confirmation asks for; the engine checks either answer.
    let answer = if confirm.yes {
        plan.confirmation.word.clone().unwrap_or_else(|| "y".into())
    } else {
        super::confirm(&plan.confirmation)?
    };
    let submitted = api
        .submit(&Submission {
            plan: plan.id.clone(),
            answer,
            wait: confirm.wait,
        })
        .await?;
    if !ctx.json && !ctx.quiet {
        for n in &submitted.notes {
            eprintln!("note: {}", sanitize(n));
        }
    }
    let job = match (&submitted.job, &submitted.approval) {
        (Some(job), _) => job,
        (None, Some(approval)) => return Ok(held(ctx, approval, &submitted)),
        (None, None) => {
            return Err(CliError::new(
                exit::ERROR,
                "the engine answered with neither a job nor an approval request",
            ));
        }
    };
    let id = job.id;
    if !confirm.wait {
        let j = job;
        if ctx.json {
            let mut shown = job_json(j);
            shown["notes"] = json!(submitted.notes);
            print_json(&json!({ "job": shown }));
        } else {
            println!("job {id} queued: {} items", j.counts.matched);
        }
        if submitted.no_engine_running && !ctx.quiet {
            eprintln!(
                "hint: no engine is running; start `retractor worker` (or open the console) to run it, or use --wait"
            );
        }
        return Ok(exit::OK);
    }
    let mut events = api.watch(id).await?;
    while let Some(event) = events.next().await {
        if event?.finished {
            break;
        }
    }
    let detail = api.job(id).await?;
    let j = &detail.job;
    if ctx.json {
        let mut shown = job_with_items_json(j, &detail.items);
        shown["job"]["notes"] = json!(submitted.notes);
        print_json(&shown);
    } else if !ctx.quiet {
        print_job_table(j, &detail.items);
    }
    Ok(match j.status {
        JobStatus::Done => exit::OK,
        JobStatus::Partial | JobStatus::Failed => exit::PARTIAL,
        _ => exit::OK,
    })
}
