//! `jobs`, `cancel`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use super::super::args::{CancelArgs, JobsArgs};
use super::super::output::{
    Column, Table, job_json, job_with_items_json, print_job_table, print_json, short_time,
};
use super::super::{CliError, Context, exit};
use crate::api::{Api, CancelRequest};
use crate::model::Job;

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
        watch(ctx, api.as_ref(), id).await?;
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

/// How long `jobs --watch` waits, with no engine alive on the store and the job unfinished,
/// before it says so and stops: long enough for a worker that is starting to register.
const NO_ENGINE_GRACE: Duration = Duration::from_secs(5);

/// How often, between progress events, `--watch` asks whether an engine is alive.
const ENGINE_CHECK_EVERY: Duration = Duration::from_secs(1);

/// Print a job's progress until it has finished. A job no engine runs would never finish:
/// when the store has seen no live engine for [`NO_ENGINE_GRACE`], say so and stop (exit 1)
/// rather than wait for ever.
async fn watch(ctx: &Context, api: &dyn Api, id: i64) -> Result<(), CliError> {
    let mut events = api.watch(id).await?;
    let mut last = None;
    let mut engineless_since: Option<Instant> = None;
    loop {
        match tokio::time::timeout(ENGINE_CHECK_EVERY, events.next()).await {
            Ok(None) => return Ok(()),
            Ok(Some(event)) => {
                let progress = event?;
                if progress.finished {
                    return Ok(());
                }
                print_progress(ctx, &progress.job, &mut last);
            }
            Err(_elapsed) => {}
        }
        // `None`: the store could not say (an older service); keep waiting as before.
        let alive = api.store_status().await?.live_workers;
        if alive != Some(0) {
            engineless_since = None;
            continue;
        }
        let since = *engineless_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= NO_ENGINE_GRACE {
            let job = api.job(id).await?.job;
            if job.status.is_finished() {
                return Ok(());
            }
            return Err(CliError::new(
                exit::ERROR,
                format!(
                    "job {id} is {} and no engine is running it (none alive on this store for {} s): start `retractor worker`, or open the console, then watch again",
                    job.status.as_str(),
                    NO_ENGINE_GRACE.as_secs()
                ),
            ));
        }
    }
}

fn print_progress(ctx: &Context, job: &Job, last: &mut Option<String>) {
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
        *last = Some(line);
    }
}
