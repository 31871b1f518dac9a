//! `jobs`, `cancel`, `worker`.

use std::time::Duration;

use serde_json::json;

use super::super::args::{CancelArgs, JobsArgs, WorkerArgs};
use super::super::output::{
    Table, job_json, job_with_items_json, print_job_table, print_json, short_time,
};
use super::super::{CliError, Context, exit};
use crate::engine::{CancelRequest, RunOptions};
use crate::store::Store;

pub async fn jobs(ctx: &Context, a: JobsArgs) -> Result<u8, CliError> {
    let config = ctx.config()?;
    let store = Store::open_read_only(&config.store_path)?;
    let Some(id) = a.job else {
        let list = store.jobs(a.limit)?;
        if ctx.json {
            print_json(&json!({"jobs": list.iter().map(job_json).collect::<Vec<_>>()}));
            return Ok(exit::OK);
        }
        let mut t = Table::new(
            vec![
                "JOB", "CREATED", "KIND", "ACTION", "STATUS", "MATCHED", "DONE", "FAILED",
                "SKIPPED", "BY",
            ],
            vec![0, 16, 8, 13, 10, 7, 6, 6, 7, 16],
        );
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
    let mut last = None;
    loop {
        let job = store.job(id)?;
        if a.watch && !job.status.is_finished() {
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
                    print_json(&json!({"progress": job_json(&job)}));
                } else {
                    eprintln!("{}", crate::model::text::sanitize(&line));
                }
                last = Some(line);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let items = store.job_items(id)?;
        if ctx.json {
            print_json(&job_with_items_json(&job, &items));
        } else {
            print_job_table(&job, &items);
        }
        return Ok(exit::OK);
    }
}

pub fn cancel(ctx: &Context, a: CancelArgs) -> Result<u8, CliError> {
    let engine = ctx.engine()?;
    let cancelled = engine.cancel(&CancelRequest { job: a.job })?;
    let job = engine.store().job(a.job)?;
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

pub async fn worker(ctx: &Context, a: WorkerArgs) -> Result<u8, CliError> {
    let engine = ctx.engine()?;
    let run = engine.run(RunOptions {
        job: None,
        follow: a.follow,
    });
    let summary = tokio::select! {
        s = run => s?,
        _ = tokio::signal::ctrl_c() => {
            // Items in flight stay claimed; the next engine takes them over safely.
            if !ctx.quiet { eprintln!("interrupted"); }
            return Ok(exit::OK);
        }
    };
    if ctx.json {
        print_json(
            &json!({"worker": {"finished": summary.finished, "retried": summary.retried, "reclaimed": summary.reclaimed}}),
        );
    } else if !ctx.quiet {
        println!(
            "worker: {} items finished, {} retried, {} taken over from stopped workers",
            summary.finished, summary.retried, summary.reclaimed
        );
    }
    Ok(exit::OK)
}
