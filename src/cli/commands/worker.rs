//! `worker`: runs queued jobs in this process. Embedded-only: a service runs its own workers,
//! so this is the one command (with `demo`) that holds an engine rather than asking an API.

use serde_json::json;

use super::super::args::WorkerArgs;
use super::super::output::print_json;
use super::super::{CliError, Context, exit};
use crate::engine::RunOptions;

pub async fn worker(ctx: &Context, a: WorkerArgs) -> Result<u8, CliError> {
    let engine = ctx.engine()?;
    let run = engine.run(RunOptions {
        job: None,
        follow: a.follow,
    });
    // Following, this process also decides on incoming alerts (the policies) and reads the
    // abuse mailbox every `[submissions] interval`: forever, like the worker itself.
    let decide = async {
        if a.follow {
            let submissions = tokio::spawn(crate::submissions::run_loop(
                std::sync::Arc::clone(&engine),
                None,
            ));
            let hunter = tokio::spawn(crate::policy::hunt::run_hunter(
                std::sync::Arc::clone(&engine),
                None,
            ));
            let decided = crate::policy::run_decider(std::sync::Arc::clone(&engine), None).await;
            submissions.abort();
            hunter.abort();
            decided
        } else {
            std::future::pending().await
        }
    };
    let summary = tokio::select! {
        s = run => s?,
        d = decide => {
            d?;
            return Ok(exit::OK);
        }
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
