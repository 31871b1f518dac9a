//! `retractor report REF --false-negative|--false-positive [--reason TEXT]`: the analyst's
//! verdict on a logged message, set in the log, audited and fed to the policies.

use serde_json::json;

use super::super::args::ReportArgs;
use super::super::output::print_json;
use super::super::{CliError, Context, exit};
use crate::api::{ReportKind, ReportRequest};
use crate::model::AlertDisposition;
use crate::model::text::sanitize;

pub async fn run(ctx: &Context, a: ReportArgs) -> Result<u8, CliError> {
    if a.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(CliError::bad_input(
            "--reason is empty: say why, or leave it out",
        ));
    }
    // clap's group makes exactly one of the two flags present.
    let kind = if a.false_negative {
        ReportKind::FalseNegative
    } else {
        ReportKind::FalsePositive
    };
    let view = ctx
        .api()?
        .report(&ReportRequest {
            message: a.reference,
            kind,
            reason: a.reason,
        })
        .await?;
    if ctx.json {
        print_json(&json!({ "report": view }));
    } else if !ctx.quiet {
        println!(
            "message {} reported as {}: disposition {} (was {}); alert {} #{} ({})",
            view.message,
            kind.name().replace('_', " "),
            view.disposition,
            view.previous_disposition
                .as_deref()
                .map(sanitize)
                .unwrap_or_else(|| "none".into()),
            view.alert.id,
            view.alert.number,
            match view.alert.disposition {
                AlertDisposition::New => "new",
                AlertDisposition::Repeat => "already reported so",
                AlertDisposition::Updated => "updated",
            },
        );
    }
    Ok(exit::OK)
}
