//! `search`, `show`, `ingest`, `index`: the message log.

use std::io::{BufReader, Read};

use serde_json::json;

use super::super::args::{IndexArgs, IngestArgs, IngestFormat, SearchArgs, ShowArgs};
use super::super::output::{Table, message_json, print_json, short_time};
use super::super::{CliError, Context, exit};
use crate::engine::{IndexRequest, LogLoad};
use crate::ingest::{IngestError, IngestReport, TenantResolver, jsonl, m365_trace, postfix};
use crate::model::text::sanitize;
use crate::store::Store;
use sha2::{Digest, Sha256};

pub fn search(ctx: &Context, a: SearchArgs) -> Result<u8, CliError> {
    let config = ctx.config()?;
    let store = Store::open_read_only(&config.store_path)?;
    let text = a.query.join(" ");
    let query = crate::query::parse(&text, chrono::Utc::now())
        .map_err(|e| CliError::bad_input(e.render(&text)))?;
    let found = store.search(&query, a.limit, 0)?;
    if ctx.json {
        print_json(&json!({"messages": found.iter().map(message_json).collect::<Vec<_>>()}));
        return Ok(exit::OK);
    }
    let mut t = Table::new(
        vec![
            "ID",
            "RECEIVED",
            "FROM",
            "SUBJECT",
            "RCPT",
            "STATUS",
            "DISPOSITION",
        ],
        vec![0, 16, 30, 50, 5, 26, 12],
    );
    for m in &found {
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
    if !ctx.quiet {
        let total = store.search_count(&query)?;
        if total as usize > found.len() {
            eprintln!("({} of {total} shown; --limit raises this)", found.len());
        }
    }
    Ok(exit::OK)
}

pub async fn show(ctx: &Context, a: ShowArgs) -> Result<u8, CliError> {
    let engine = ctx.read_only_engine()?;
    let store = engine.store();
    let message = super::resolve(store, &a.reference)?;
    let tenant = engine.config().tenant(&message.tenant);
    let detail = store.message_detail(message.id, &|mb| tenant.is_some_and(|t| t.on_hold(mb)))?;
    let conversation = store.conversation(&message, a.depth)?;
    let headers = engine.message_headers(&detail).await;
    if ctx.json {
        let mut v = message_json(&message);
        v["deliveries"] = json!(
            detail
                .deliveries
                .iter()
                .map(|d| json!({
                    "recipient": d.recipient,
                    "mailbox": d.mailbox,
                    "status": d.status.as_str(),
                    "folder": d.folder,
                    "on_hold": d.on_hold,
                    "external": d.external,
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
                .iter()
                .map(|(k, v)| json!([k, v]))
                .collect::<Vec<_>>()
        );
        print_json(&v);
        return Ok(exit::OK);
    }
    println!(
        "Message   {} (log id {})",
        sanitize(&message.message_id),
        message.id
    );
    println!("From      {}", sanitize(&message.from));
    println!("Subject   {}", sanitize(&message.subject));
    println!("Received  {}", message.received_at.to_rfc3339());
    println!("Tenant    {}", sanitize(&message.tenant));
    println!(
        "Verdict   {}",
        sanitize(message.disposition.as_deref().unwrap_or("-"))
    );
    println!("Status    {}", message.status_label());
    println!();
    let mut t = Table::new(
        vec!["RECIPIENT", "STATE", "FOLDER", "MARKS"],
        vec![40, 12, 40, 20],
    );
    for d in &detail.deliveries {
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
    if !headers.is_empty() {
        println!();
        println!("Headers");
        for (k, v) in &headers {
            println!("  {}: {}", sanitize(k), sanitize(v));
        }
    }
    Ok(exit::OK)
}

pub fn ingest(ctx: &Context, a: IngestArgs) -> Result<u8, CliError> {
    let engine = ctx.engine()?;
    let config = engine.config().clone();
    let source = a.file.display().to_string();
    engine.authorize_log_load("ingest", &source)?;
    let resolver =
        TenantResolver::new(&config, a.tenant.as_deref()).map_err(CliError::bad_input)?;
    let raw: Box<dyn Read> = if a.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(&a.file)
            .map_err(|e| CliError::bad_input(format!("{}: {e}", a.file.display())))?;
        Box::new(file)
    };
    let mut input = BufReader::with_capacity(1 << 20, Hashing::new(raw));
    let store = engine.store();
    let loaded = match a.format {
        IngestFormat::Jsonl => jsonl::ingest(store, &resolver, &mut input).map_err(CliError::from),
        IngestFormat::Postfix => {
            postfix::ingest(store, &resolver, &mut input).map_err(CliError::from)
        }
        IngestFormat::M365Trace => match m365_trace::ingest(store, &resolver, &mut input) {
            Ok(report) => Ok(report),
            Err(IngestError::BadInput(m)) => {
                Err(CliError::bad_input(format!("{}: {m}", a.file.display())))
            }
            Err(IngestError::Store(e)) => Err(e.into()),
        },
    };
    // The hash is of the whole input, also past where a parser stopped.
    let sha256 = std::io::copy(&mut input, &mut std::io::sink())
        .ok()
        .map(|_| input.into_inner().finish());
    let format = match a.format {
        IngestFormat::Jsonl => "jsonl",
        IngestFormat::Postfix => "postfix",
        IngestFormat::M365Trace => "m365-trace",
    };
    let failed = loaded.as_ref().err().map(|e| e.message.clone());
    engine.audit_log_load(&LogLoad {
        action: "ingest",
        source: &source,
        format,
        sha256: sha256.as_deref(),
        result: match (&loaded, &failed) {
            (Ok(report), _) => Ok(report),
            (Err(_), why) => Err(why.as_deref().unwrap_or("failed")),
        },
        not_read: 0,
    })?;
    report_ingest(ctx, &loaded?, &source)
}

/// A reader that keeps the SHA-256 of everything read through it, for the audit record.
struct Hashing<R> {
    inner: R,
    digest: Sha256,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            digest: Sha256::new(),
        }
    }

    /// The hex SHA-256 of what was read.
    fn finish(self) -> String {
        hex::encode(self.digest.finalize())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
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
    let engine = ctx.engine()?;
    let config = engine.config().clone();
    let resolver = TenantResolver::new(&config, Some(&a.tenant)).map_err(CliError::bad_input)?;
    let since = a
        .since
        .as_deref()
        .map(|s| super::when("--since", s))
        .transpose()?;
    // The engine reads the mailboxes, within its limits, after checking the role.
    let scan = engine
        .index(&IndexRequest {
            tenant: a.tenant.clone(),
            since,
        })
        .await?;
    let failures = &scan.not_indexed;
    let records = scan.records(&a.tenant);
    let mut loader = crate::ingest::Loader::new(engine.store(), &resolver);
    let loaded = records
        .into_iter()
        .enumerate()
        .try_for_each(|(n, r)| loader.push(n as u64 + 1, r))
        .and_then(|()| loader.finish());
    let source = format!("tenant {}", a.tenant);
    let failed = loaded.as_ref().err().map(ToString::to_string);
    engine.audit_log_load(&LogLoad {
        action: "index",
        source: &source,
        format: "mailboxes",
        sha256: None,
        result: match (&loaded, &failed) {
            (Ok(report), _) => Ok(report),
            (Err(_), why) => Err(why.as_deref().unwrap_or("failed")),
        },
        not_read: failures.len(),
    })?;
    let report = loaded?;
    for f in failures {
        eprintln!("not indexed: {}", sanitize(f));
    }
    let code = report_ingest(ctx, &report, &source)?;
    Ok(if failures.is_empty() {
        code
    } else {
        exit::PARTIAL
    })
}
