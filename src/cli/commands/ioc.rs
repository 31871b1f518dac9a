//! `ioc add|import|list|remove`: indicators of compromise, through the API.

use serde_json::json;

use super::super::args::IocCommand;
use super::super::output::{Column, Table, print_json, short_time};
use super::super::{CliError, Context, exit};
use super::alerts::read_lines;
use crate::api::{IndicatorRemoval, IndicatorReport, IndicatorSubmission};
use crate::forensics::defang;
use crate::forensics::ioc::Format;
use crate::model::text::sanitize;
use crate::model::{IndicatorKind, IndicatorRecord};

pub async fn run(ctx: &Context, command: IocCommand) -> Result<u8, CliError> {
    match command {
        IocCommand::Add {
            kind,
            value,
            source,
            expires,
            classification,
        } => {
            let kind = IndicatorKind::parse(&kind).map_err(CliError::bad_input)?;
            let req = IndicatorSubmission {
                name: format!("{} indicator", kind.as_str()),
                format: None,
                kind: Some(kind),
                source,
                body: value,
                classification,
                expires,
            };
            added(ctx, &req).await
        }
        IocCommand::Import {
            file,
            format,
            kind,
            source,
        } => {
            let format = Format::parse(&format).map_err(CliError::bad_input)?;
            let kind = kind
                .as_deref()
                .map(IndicatorKind::parse)
                .transpose()
                .map_err(CliError::bad_input)?;
            let lines = read_lines(&file)?;
            let req = IndicatorSubmission {
                source: source.unwrap_or_else(|| lines.name.clone()),
                name: lines.name,
                format: Some(format),
                kind,
                body: lines.body,
                classification: None,
                expires: None,
            };
            added(ctx, &req).await
        }
        IocCommand::List => list(ctx).await,
        IocCommand::Remove { id, all } => {
            let req = IndicatorRemoval {
                id: if all { None } else { id },
            };
            let done = ctx.api()?.remove_indicators(&req).await?;
            if ctx.json {
                print_json(&json!({"ioc_remove": done}));
            } else if !ctx.quiet {
                println!("indicators: {} removed", done.removed);
            }
            Ok(exit::OK)
        }
    }
}

async fn added(ctx: &Context, req: &IndicatorSubmission) -> Result<u8, CliError> {
    let report: IndicatorReport = ctx.api()?.add_indicators(req).await?;
    if ctx.json {
        print_json(&json!({"ioc_add": report}));
        return Ok(exit::OK);
    }
    if !ctx.quiet {
        for s in &report.skipped {
            eprintln!(
                "{}: {}: skipped: {}",
                sanitize(&req.name),
                sanitize(&s.at),
                sanitize(&s.reason)
            );
        }
        println!(
            "indicators: {} added, {} refreshed, {} skipped",
            report.added,
            report.refreshed,
            report.skipped.len()
        );
    }
    Ok(exit::OK)
}

/// An indicator's value as a terminal may show it: URLs defanged, all of it sanitised.
fn shown(r: &IndicatorRecord) -> String {
    let v = &r.indicator.value;
    match r.indicator.kind {
        IndicatorKind::Url => sanitize(&defang(v)),
        IndicatorKind::UrlDomain | IndicatorKind::SenderDomain => sanitize(&v.replace('.', "[.]")),
        _ => sanitize(v),
    }
}

async fn list(ctx: &Context) -> Result<u8, CliError> {
    let all = ctx.api()?.indicators().await?;
    if ctx.json {
        print_json(&json!({"indicators": all}));
        return Ok(exit::OK);
    }
    if all.is_empty() {
        if !ctx.quiet {
            println!("no indicators");
        }
        return Ok(exit::OK);
    }
    let mut table = Table::new(vec![
        Column::whole("ID"),
        Column::whole("KIND"),
        Column::middle("VALUE"),
        Column::text("SOURCE").droppable(2),
        Column::whole("CLASS").droppable(3),
        Column::whole("EXPIRES").droppable(1),
    ]);
    for r in &all {
        table.row(vec![
            r.id.to_string(),
            r.indicator.kind.as_str().to_string(),
            shown(r),
            sanitize(&r.indicator.source),
            sanitize(&r.indicator.classification),
            r.indicator
                .expires_at
                .map(short_time)
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    table.print();
    Ok(exit::OK)
}

pub async fn hunt(ctx: &Context, a: &crate::cli::args::HuntArgs) -> Result<u8, CliError> {
    let r = ctx
        .api()?
        .hunt(&crate::policy::hunt::HuntRequest { wait: a.wait })
        .await?;
    if ctx.json {
        print_json(&json!({"hunt": r}));
    } else if !ctx.quiet {
        println!(
            "hunt: {} indicators, {} log rows read, {} mailboxes searched ({} since their last hunt; {} copies read), {} matches ({} new alerts, {} repeats); {} indicators not hunted",
            r.indicators,
            r.examined,
            r.mailboxes,
            r.mailboxes_resumed,
            r.copies_read,
            r.matches,
            r.new_alerts,
            r.repeats,
            r.not_hunted
        );
        if r.not_raised > 0 {
            println!(
                "{} copies matched but carry no usable Message-ID: pull them with sweep",
                r.not_raised
            );
        }
        for why in &r.unsearched {
            println!("not searched: {why}");
        }
        super::submissions::print_decisions(&r.decisions);
    }
    Ok(exit::OK)
}
