//! Printing: JSON for scripts, aligned tables for people. Every piece of text that came from
//! outside (subjects, addresses, folder names, errors quoting them) passes through
//! [`sanitize`] before it reaches a terminal.

mod table;

use serde_json::{Value, json};

use super::{CliError, Context};
use crate::api::PlanView;
use crate::model::text::{escape_json_text, sanitize};
use crate::model::{Job, JobItem, LoggedMessage};

pub use table::{Column, Table};

pub fn print_error(ctx: &Context, e: &CliError) {
    if ctx.json {
        eprintln!(
            "{}",
            escape_json_text(&json!({"error": {"code": e.code, "message": e.message}}).to_string())
        );
    } else {
        // Some messages span lines on purpose (a query error's caret diagram): keep the line
        // breaks, escape everything else on each line.
        let lines: Vec<String> = e.message.split('\n').map(sanitize).collect();
        eprintln!("retractor: {}", lines.join("\n"));
    }
}

/// Print a JSON value on stdout, with C1 controls and bidi/format characters escaped so that
/// `--json` output piped to a terminal cannot steer it either.
pub fn print_json(v: &Value) {
    println!("{}", escape_json_text(&v.to_string()));
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn message_json(m: &LoggedMessage) -> Value {
    json!({
        "id": m.id,
        "message_id": m.message_id,
        "from": m.from,
        "subject": m.subject,
        "received_at": rfc3339(m.received_at),
        "recipients": m.recipients,
        "status": m.status.as_str(),
        "status_label": m.status_label(),
        "disposition": m.disposition,
        "tenant": m.tenant,
    })
}

pub fn job_json(j: &Job) -> Value {
    json!({
        "id": j.id,
        "kind": j.kind.as_str(),
        "action": j.action.as_str(),
        "status": j.status.as_str(),
        "initiated_by": j.initiated_by,
        "reason": j.reason,
        "matched": j.counts.matched,
        "remediated": j.counts.remediated,
        "failed": j.counts.failed,
        "skipped": j.counts.skipped,
        "queued": j.counts.queued,
        "in_progress": j.counts.claimed,
        "throttle": j.throttle_note,
        "created_at": rfc3339(j.created_at),
        "started_at": j.started_at.map(rfc3339),
        "finished_at": j.finished_at.map(rfc3339),
    })
}

/// The result column: the outcome when finished, else the lifecycle state.
pub fn item_result(i: &JobItem) -> String {
    i.outcome
        .map(|o| o.as_str().to_string())
        .unwrap_or_else(|| i.state.as_str().to_string())
}

pub fn item_json(i: &JobItem) -> Value {
    json!({
        "mailbox": i.mailbox,
        "message_id": i.message_id,
        "depth": i.depth,
        "result": item_result(i),
        "error": i.error,
        "from_folder": i.from_folder(),
        "to_folder": i.to_folder(),
        "attempts": i.attempts,
    })
}

pub fn job_with_items_json(j: &Job, items: &[JobItem]) -> Value {
    let mut v = job_json(j);
    v["items"] = Value::Array(items.iter().map(item_json).collect());
    json!({ "job": v })
}

pub fn plan_json(p: &PlanView) -> Value {
    json!({"plan": {
        "action": p.action.as_str(),
        "kind": p.kind.as_str(),
        "target": p.target,
        "items": p.items.iter().map(|i| json!({
            "mailbox": i.mailbox,
            "message_id": i.message_id,
            "depth": i.depth,
            "folder": i.planned_folder,
            "result": i.result.map(|o| o.as_str()),
            "note": i.note,
            "already_there": i.already_there,
        })).collect::<Vec<_>>(),
        "already_there": p.items.iter().filter(|i| i.already_there).count(),
        "by_depth": p.by_depth,
        "notes": p.notes,
    }})
}

pub fn short_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

pub fn print_job_table(j: &Job, items: &[JobItem]) {
    println!(
        "job {}  {} {}  {}  by {}{}",
        j.id,
        j.kind.as_str(),
        j.action,
        j.status.as_str(),
        sanitize(&j.initiated_by),
        j.reason
            .as_ref()
            .map(|r| format!("  reason: {}", sanitize(r)))
            .unwrap_or_default()
    );
    println!(
        "matched {}  remediated {}  failed {}  skipped {}  queued {}  in progress {}{}",
        j.counts.matched,
        j.counts.remediated,
        j.counts.failed,
        j.counts.skipped,
        j.counts.queued,
        j.counts.claimed,
        j.throttle_note
            .as_ref()
            .map(|t| format!("  ({})", sanitize(t)))
            .unwrap_or_default()
    );
    if items.is_empty() {
        return;
    }
    let mut t = Table::new(vec![
        Column::address("MAILBOX"),
        Column::whole("DEPTH").droppable(1),
        Column::whole("RESULT"),
        Column::text("FROM"),
        Column::text("TO"),
        Column::middle("MESSAGE-ID").droppable(2),
        Column::text("ERROR"),
    ]);
    for i in items {
        t.row(vec![
            i.mailbox.clone(),
            i.depth.to_string(),
            item_result(i),
            i.from_folder().unwrap_or_default(),
            i.to_folder().unwrap_or_default(),
            i.message_id.clone(),
            i.error.clone().unwrap_or_default(),
        ]);
    }
    t.print();
}
