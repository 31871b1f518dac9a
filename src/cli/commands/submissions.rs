//! `submissions`: read the abuse mailbox's phish reports now.

use serde_json::json;

use super::super::args::SubmissionsArgs;
use super::super::output::{Column, Table, print_json};
use super::super::{CliError, Context, exit};
use crate::model::text::sanitize;
use crate::submissions::SubmissionsRequest;

/// Exit 0 when every new report was read, 3 when some were malformed (named, skipped).
pub async fn run(ctx: &Context, a: SubmissionsArgs) -> Result<u8, CliError> {
    let api = ctx.api()?;
    let run = api
        .process_submissions(&SubmissionsRequest { wait: a.wait })
        .await?;
    let code = if run.malformed() > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    };
    if ctx.json {
        print_json(&json!({ "submissions": run }));
        return Ok(code);
    }
    for r in run.reports.iter().filter(|r| r.format == "malformed") {
        if !ctx.quiet {
            eprintln!(
                "{}: report {} skipped: {}",
                sanitize(&run.mailbox),
                sanitize(&r.report_id),
                sanitize(&r.detail)
            );
        }
    }
    if ctx.quiet {
        return Ok(code);
    }
    if !run.reports.is_empty() {
        let mut table = Table::new(vec![
            Column::middle("REPORT"),
            Column::whole("FORMAT"),
            Column::address("REPORTER"),
            Column::middle("ORIGINAL"),
            Column::whole("OUTCOME"),
            Column::text("DETAIL").droppable(1),
        ]);
        for r in &run.reports {
            table.row(vec![
                sanitize(&r.report_id),
                r.format.clone(),
                r.reporter.as_deref().map(sanitize).unwrap_or_default(),
                r.original_message_id
                    .as_deref()
                    .map(sanitize)
                    .unwrap_or_default(),
                r.outcome.clone(),
                sanitize(&r.detail),
            ]);
        }
        table.print();
    }
    println!(
        "{}: {} new reports ({} raised to phish, {} malformed), {} earlier ones moved, {} \
         malformed left in the inbox",
        sanitize(&run.mailbox),
        run.reports.len(),
        run.phish(),
        run.malformed(),
        run.moved_earlier,
        run.left_malformed
    );
    print_decisions(&run.decisions);
    Ok(code)
}

/// The policies' decisions a `--wait` brought back, a line each (`submissions`, `hunt`).
pub(super) fn print_decisions(decisions: &[crate::api::DecisionRecord]) {
    for d in decisions {
        println!(
            "decision on {}: {}{}{}",
            sanitize(&d.source_id),
            d.outcome,
            d.rail
                .as_deref()
                .map(|r| format!(" (rail {r})"))
                .unwrap_or_default(),
            d.job.map(|j| format!(", job {j}")).unwrap_or_default()
        );
    }
}
