//! `search`, `show`, `ingest`, `index`: the message log.

use std::io::Read;

use serde_json::json;

use super::super::args::{IndexArgs, IngestArgs, IngestFormat, SearchArgs, ShowArgs};
use super::super::output::{Column, Table, message_json, print_json, short_time};
use super::super::{CliError, Context, exit};
use crate::api::{IndexRequest, IngestReport, IngestRequest, SearchRequest};
use crate::model::text::sanitize;

pub async fn search(ctx: &Context, a: SearchArgs) -> Result<u8, CliError> {
    let api = ctx.read_only_api()?;
    let page = api
        .search(&SearchRequest {
            query: a.query.join(" "),
            limit: a.limit,
            // Only the table's hint on stderr shows the count.
            skip_count: ctx.quiet || ctx.json,
            ..SearchRequest::default()
        })
        .await?;
    let found = &page.messages;
    if ctx.json {
        print_json(&json!({"messages": found.iter().map(message_json).collect::<Vec<_>>()}));
        return Ok(exit::OK);
    }
    let mut t = Table::new(vec![
        Column::whole("ID"),
        Column::whole("RECEIVED").droppable(2),
        Column::address("FROM"),
        Column::text("SUBJECT"),
        Column::whole("RCPT").droppable(1),
        Column::text("STATUS"),
        Column::whole("DISPOSITION"),
    ]);
    for m in found {
        t.row(vec![
            m.id.to_string(),
            short_time(m.received_at),
            m.from.clone(),
            m.subject.clone(),
            m.recipients.len().to_string(),
            m.status_label(),
            m.disposition.clone().unwrap_or_default(),
        ]);
    }
    t.print();
    if let Some(reason) = page.empty_because.as_deref().filter(|_| !ctx.quiet) {
        eprintln!("no messages: {}", sanitize(reason));
    }
    if !ctx.quiet {
        let total = page.total.unwrap_or(0);
        if total as usize > found.len() {
            eprintln!("({} of {total} shown; --limit raises this)", found.len());
        }
    }
    Ok(exit::OK)
}

pub async fn show(ctx: &Context, a: ShowArgs) -> Result<u8, CliError> {
    let api = ctx.read_only_api()?;
    let view = api.message(&a.reference).await?;
    let headers = api.headers(&a.reference).await?;
    let message = &view.message;
    let conversation: Vec<_> = view
        .conversation
        .iter()
        .filter(|c| c.depth <= a.depth)
        .collect();
    if ctx.json {
        let mut v = message_json(message);
        v["deliveries"] = json!(
            view.deliveries
                .iter()
                .map(|d| json!({
                    "recipient": d.recipient,
                    "mailbox": d.mailbox,
                    "status": d.status.as_str(),
                    "folder": d.folder,
                    "on_hold": d.on_hold,
                    "external": d.external,
                    "read": d.read,
                    "original_folder": d.original_folder,
                }))
                .collect::<Vec<_>>()
        );
        v["conversation"] = json!(
            conversation
                .iter()
                .map(|c| json!({
                    "depth": c.depth,
                    "id": c.message.id,
                    "message_id": c.message.message_id,
                    "from": c.message.from,
                    "subject": c.message.subject,
                    "recipients": c.message.recipients,
                }))
                .collect::<Vec<_>>()
        );
        v["headers"] = json!(
            headers
                .headers
                .iter()
                .map(|h| json!([h.name, h.value]))
                .collect::<Vec<_>>()
        );
        // Which copy the headers were read from (null when none could be read, and why).
        v["headers_source"] = json!(headers.source);
        v["headers_problem"] = json!(headers.problem);
        print_json(&v);
        return Ok(exit::OK);
    }
    println!(
        "Message      {} (log id {})",
        sanitize(&message.message_id),
        message.id
    );
    println!("From         {}", sanitize(&message.from));
    println!("Subject      {}", sanitize(&message.subject));
    println!("Received     {}", message.received_at.to_rfc3339());
    println!("Tenant       {}", sanitize(&message.tenant));
    println!(
        "Disposition  {}",
        sanitize(message.disposition.as_deref().unwrap_or("-"))
    );
    println!("Status       {}", message.status_label());
    println!();
    // READ and WAS IN come from the first placement a job recorded (where the copy was
    // before anything was done); `-` for a copy no job touched.
    let mut t = Table::new(vec![
        Column::address("RECIPIENT"),
        Column::whole("STATE"),
        Column::whole("READ"),
        Column::text("WAS IN"),
        Column::text("FOLDER"),
        Column::whole("MARKS"),
    ]);
    for d in &view.deliveries {
        let mut marks = Vec::new();
        if d.on_hold {
            marks.push("hold");
        }
        if d.external {
            marks.push("external");
        }
        t.row(vec![
            d.recipient.clone(),
            d.status.as_str().into(),
            d.read_label().into(),
            d.original_folder.clone().unwrap_or_else(|| "-".into()),
            d.folder.clone().unwrap_or_default(),
            marks.join(","),
        ]);
    }
    t.print();
    println!();
    if conversation.is_empty() {
        println!(
            "Conversation: no logged replies or forwards (deeper mailbox search runs with `retract --dry-run --depth N`)"
        );
    } else {
        println!("Conversation");
        for c in &conversation {
            println!(
                "{}depth {}  {}  {}  {}",
                "  ".repeat(c.depth as usize),
                c.depth,
                c.message.id,
                sanitize(&c.message.from),
                sanitize(&c.message.subject)
            );
        }
    }
    println!();
    match (&headers.source, &headers.problem) {
        (Some(source), _) => println!("Headers      from {}", sanitize(&source.describe())),
        (None, Some(why)) => println!("Headers      none: {}", sanitize(why)),
        (None, None) => println!("Headers      none"),
    }
    for h in &headers.headers {
        println!("  {}: {}", sanitize(&h.name), sanitize(&h.value));
    }
    Ok(exit::OK)
}

pub async fn ingest(ctx: &Context, a: IngestArgs) -> Result<u8, CliError> {
    let api = ctx.api()?;
    let source = a.file.display().to_string();
    // The client reads the file (it may be the caller's own, which a service cannot open);
    // the engine parses it, hashes it for the audit and loads it.
    let mut body = Vec::new();
    let read = if a.file.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut body)
    } else {
        std::fs::File::open(&a.file).and_then(|mut f| f.read_to_end(&mut body))
    };
    read.map_err(|e| CliError::bad_input(format!("{source}: {e}")))?;
    let format = match a.format {
        IngestFormat::Jsonl => "jsonl",
        IngestFormat::Postfix => "postfix",
        IngestFormat::M365Trace => "m365-trace",
    };
    let report = api
        .ingest(&IngestRequest {
            format: format.into(),
            name: source.clone(),
            tenant: a.tenant,
            body,
        })
        .await?;
    report_ingest(ctx, &report, &source)
}

/// Print an ingest report; exit 3 when some records were skipped.
pub(super) fn report_ingest(ctx: &Context, r: &IngestReport, source: &str) -> Result<u8, CliError> {
    if ctx.json {
        print_json(&json!({"ingest": {
            "records": r.records,
            "inserted": r.inserted,
            "merged": r.merged,
            "rejected": r.rejected.iter().map(|x| json!({"line": x.line, "reason": x.reason})).collect::<Vec<_>>(),
            "rejected_total": r.rejected_total,
            "ignored": r.ignored,
            "incomplete": r.incomplete,
            "not_delivered": r.not_delivered,
            "unresolved_handoffs": r.unresolved_handoffs.iter().map(|x| json!({"line": x.line, "reason": x.reason})).collect::<Vec<_>>(),
            "unresolved_handoffs_total": r.unresolved_handoffs_total,
        }}));
    } else {
        for x in r.rejected.iter().take(20) {
            eprintln!(
                "{}:{}: skipped: {}",
                sanitize(source),
                x.line,
                sanitize(&x.reason)
            );
        }
        let shown = r.rejected.len().min(20) as u64;
        if r.rejected_total > shown {
            eprintln!("... and {} more skipped lines", r.rejected_total - shown);
        }
        if !ctx.quiet {
            println!(
                "{} records: {} new, {} merged into existing entries, {} skipped",
                r.records, r.inserted, r.merged, r.rejected_total
            );
            // Only the line formats have these; a JSONL run keeps its one-line summary.
            if r.ignored > 0 || r.incomplete > 0 || !r.not_delivered.is_empty() {
                let not_delivered: Vec<String> = r
                    .not_delivered
                    .iter()
                    .map(|(status, n)| format!("{n} {}", sanitize(status)))
                    .collect();
                println!(
                    "{} unrelated lines ignored, {} messages without a delivery record, recipients not delivered: {}",
                    r.ignored,
                    r.incomplete,
                    if not_delivered.is_empty() {
                        "none".to_string()
                    } else {
                        not_delivered.join(", ")
                    }
                );
            }
            if r.unresolved_handoffs_total > 0 {
                println!(
                    "{} recipients handed to a content filter or local queue this log does not show (no delivery recorded)",
                    r.unresolved_handoffs_total
                );
            }
        }
    }
    Ok(if r.rejected_total == 0 {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

pub async fn index(ctx: &Context, a: IndexArgs) -> Result<u8, CliError> {
    let api = ctx.api()?;
    let since = a
        .since
        .as_deref()
        .map(|s| super::when("--since", s))
        .transpose()?;
    let report = api
        .index(&IndexRequest {
            tenant: a.tenant.clone(),
            since,
        })
        .await?;
    for f in &report.not_indexed {
        eprintln!("not indexed: {}", sanitize(f));
    }
    let code = report_ingest(ctx, &report, &format!("tenant {}", a.tenant))?;
    Ok(if report.not_indexed.is_empty() {
        code
    } else {
        exit::PARTIAL
    })
}
