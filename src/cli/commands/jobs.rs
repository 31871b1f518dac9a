//! `jobs`, `cancel`.

use futures_util::StreamExt;
use serde_json::json;

use super::super::args::{CancelArgs, JobsArgs};
use super::super::output::{
    Column, Table, job_json, job_with_items_json, print_job_table, print_json, short_time,
};
use super::super::{CliError, Context, exit};
use crate::api::CancelRequest;

pub async fn jobs(ctx: &Context, a: JobsArgs) -> Result<u8, CliError> {
    let api = ctx.read_only_api()?;
    let Some(id) = a.job else {
        let list = api.jobs(a.limit).await?;
        if ctx.json {
            print_json(&json!({"jobs": list.iter().map(job_json).collect::<Vec<_>>()}));
            return Ok(exit::OK);
        }
        let mut t = Table::new(vec![
            Column::whole("JOB"),
            Column::whole("CREATED").droppable(3),
            Column::whole("KIND").droppable(2),
            Column::whole("ACTION"),
            Column::whole("STATUS"),
            Column::whole("MATCHED"),
            Column::whole("DONE"),
            Column::whole("FAILED"),
            Column::whole("SKIPPED").droppable(1),
            Column::text("BY"),
        ]);
        for j in &list {
            t.row(vec![
                j.id.to_string(),
                short_time(j.created_at),
                j.kind.as_str().into(),
                j.action.to_string(),
                j.status.as_str().into(),
                j.counts.matched.to_string(),
                j.counts.remediated.to_string(),
                j.counts.failed.to_string(),
                j.counts.skipped.to_string(),
                j.initiated_by.clone(),
            ]);
        }
        t.print();
        return Ok(exit::OK);
    };
    if a.watch {
        let mut events = api.watch(id).await?;
        let mut last = None;
        while let Some(event) = events.next().await {
            let progress = event?;
            if progress.finished {
                break;
            }
            let job = &progress.job;
            let line = format!(
                "job {} {}: {}/{} done, {} failed, {} skipped{}",
                job.id,
                job.status.as_str(),
                job.counts.remediated,
                job.counts.matched,
                job.counts.failed,
                job.counts.skipped,
                job.throttle_note
                    .as_ref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            );
            if last.as_ref() != Some(&line) {
                if ctx.json {
                    print_json(&json!({"progress": job_json(job)}));
                } else {
                    eprintln!("{}", crate::model::text::sanitize(&line));
                }
                last = Some(line);
            }
        }
    }
    let detail = api.job(id).await?;
    if ctx.json {
        print_json(&job_with_items_json(&detail.job, &detail.items));
    } else {
        print_job_table(&detail.job, &detail.items);
    }
    Ok(exit::OK)
}

pub async fn cancel(ctx: &Context, a: CancelArgs) -> Result<u8, CliError> {
    let api = ctx.api()?;
    let cancelled = api.cancel(&CancelRequest { job: a.job }).await?.cancelled;
    let job = api.job(a.job).await?.job;
    if ctx.json {
        print_json(&json!({"job": job_json(&job), "cancelled_items": cancelled}));
    } else if !ctx.quiet {
        println!(
            "job {} cancelled: {cancelled} queued items will not run; {} already done stay done",
            a.job, job.counts.remediated
        );
    }
    Ok(exit::OK)
}
